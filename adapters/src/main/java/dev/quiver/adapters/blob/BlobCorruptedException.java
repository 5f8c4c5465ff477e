package dev.quiver.adapters.blob;

import java.io.IOException;
import java.nio.file.Path;

/** Thrown by {@link BlobStore#verify(String)} when a stored blob no longer hashes to its name. */
public final class BlobCorruptedException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String expectedSha256;
    private final String actualSha256;

    public BlobCorruptedException(Path file, String expectedSha256, String actualSha256) {
        super("Blob " + file + " is corrupted: expected sha256 " + expectedSha256 + " but its content hashes to "
                + actualSha256 + ". Delete it with BlobStore.delete and store the original content again.");
        this.expectedSha256 = expectedSha256;
        this.actualSha256 = actualSha256;
    }

    /** The digest the blob is stored under. */
    public String expectedSha256() {
        return expectedSha256;
    }

    /** The digest of what is on disk now. */
    public String actualSha256() {
        return actualSha256;
    }
}
