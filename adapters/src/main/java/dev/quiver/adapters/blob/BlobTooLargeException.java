package dev.quiver.adapters.blob;

import java.io.IOException;

/** Thrown when content offered to {@link BlobStore#put(java.io.InputStream, long)} exceeds its byte limit. */
public final class BlobTooLargeException extends IOException {

    private static final long serialVersionUID = 1L;

    private final long maxBytes;

    public BlobTooLargeException(long maxBytes) {
        super("Content exceeds the limit of " + maxBytes + " bytes; nothing was stored."
                + " Send a smaller file or raise the configured upload limit.");
        this.maxBytes = maxBytes;
    }

    /** The limit that was exceeded, in bytes. */
    public long maxBytes() {
        return maxBytes;
    }
}
