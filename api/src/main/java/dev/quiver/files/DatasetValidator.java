package dev.quiver.files;

import java.io.IOException;
import java.nio.file.Path;

/** Checks an uploaded training file line by line and measures it; the trainer's own reader does the work. */
public interface DatasetValidator {
    /**
     * Validates {@code file} (uploaded as {@code filename}) and returns its statistics.
     *
     * @throws IOException with every bad line numbered when the file cannot be trained on
     */
    DatasetStatistics inspect(Path file, String filename) throws IOException;
}
