package dev.quiver.adapters.blob;

import java.util.Objects;
import java.util.regex.Pattern;

/** Reference to content in a {@link BlobStore}: its lowercase hex SHA-256 and its size in bytes. */
public record BlobRef(String sha256, long size) {

    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    public BlobRef {
        requireSha256(sha256);
        if (size < 0) {
            throw new IllegalArgumentException("Blob size must be >= 0 but was " + size + " for sha256:" + sha256);
        }
    }

    /** The content id as used in APIs and manifests, e.g. {@code sha256:e3b0c442...}. */
    public String id() {
        return "sha256:" + sha256;
    }

    /** Whether {@code name} is a digest as blobs are named (64 lowercase hex characters). */
    static boolean isSha256(String name) {
        return name != null && SHA256_HEX.matcher(name).matches();
    }

    /**
     * Checks that {@code sha256} is exactly 64 lowercase hex characters, which also guarantees that
     * a caller-supplied digest can never carry path separators or {@code ..} into a file path.
     */
    static String requireSha256(String sha256) {
        if (!isSha256(sha256)) {
            throw new IllegalArgumentException("Invalid sha256 digest '" + abbreviate(sha256)
                    + "': expected exactly 64 lowercase hex characters (0-9, a-f), without a 'sha256:' prefix.");
        }
        return sha256;
    }

    private static String abbreviate(String value) {
        String text = Objects.toString(value);
        return text.length() <= 80 ? text : text.substring(0, 80) + "...(" + text.length() + " chars)";
    }
}
