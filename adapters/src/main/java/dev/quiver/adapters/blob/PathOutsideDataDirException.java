package dev.quiver.adapters.blob;

import java.nio.file.Path;

/** Thrown when a user- or config-supplied path would resolve outside Quiver's data directory. */
public final class PathOutsideDataDirException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String requestedPath;
    private final transient Path dataDir;

    public PathOutsideDataDirException(String requestedPath, Path dataDir, String reason) {
        super("Path '" + requestedPath + "' is not allowed: " + reason
                + "; the data dir is " + dataDir
                + ". Use a relative path inside the data dir, e.g. 'models/m1'.");
        this.requestedPath = requestedPath;
        this.dataDir = dataDir;
    }

    /** The path exactly as the caller supplied it. */
    public String requestedPath() {
        return requestedPath;
    }

    /** The data dir root the path was checked against. */
    public Path dataDir() {
        return dataDir;
    }
}
