package dev.quiver.adapters.blob;

import java.io.IOException;
import java.nio.file.Path;

/** Fills a fresh temporary directory that {@link AtomicFiles#writeDirectoryAtomically} then publishes. */
@FunctionalInterface
public interface DirectoryWriter {

    /** Writes the directory's full contents into {@code tempDir}, which exists and is empty. */
    void write(Path tempDir) throws IOException;
}
