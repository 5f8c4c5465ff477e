package dev.quiver.adapters.blob;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/** The root directory of Quiver's data ({@code --data-dir}); resolves relative paths strictly inside it. */
public final class DataDir {

    /** Used when {@code --data-dir} is not given. */
    public static final String DEFAULT_LOCATION = "./quiver-data";

    private final Path root;

    /**
     * Creates the directory if missing and pins it to its real path, so that later containment
     * checks compare real paths with real paths even when the configured root is itself a symlink.
     */
    public DataDir(Path root) {
        Objects.requireNonNull(root, "root");
        Path absolute = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute);
            this.root = absolute.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create or open data dir " + absolute
                    + ": " + e.getMessage()
                    + ". Check that the parent exists and is writable, or pass another --data-dir.", e);
        }
        if (!Files.isDirectory(this.root)) {
            throw new IllegalArgumentException("Data dir " + this.root
                    + " exists but is not a directory; pass a directory as --data-dir.");
        }
    }

    /** The real, absolute, normalized root. */
    public Path root() {
        return root;
    }

    /**
     * Resolves a relative path (from a user or a config file) inside the root.
     *
     * <p>The returned path is lexically normalized, so {@code ..} is never handed on to the OS,
     * which would interpret it after following symlinks. The path need not exist; its deepest
     * existing ancestor must really lie inside the root. This is a check at call time: something
     * that can write into the data dir could still swap in a symlink afterwards.
     *
     * @throws PathOutsideDataDirException if the path is absolute, climbs out with {@code ..},
     *     or passes through a symlink whose target is outside the root
     */
    public Path resolve(String relative) {
        if (relative == null || relative.isBlank()) {
            throw new PathOutsideDataDirException(String.valueOf(relative), root,
                    "it is empty, which would mean the data dir itself");
        }
        Path given;
        try {
            given = root.getFileSystem().getPath(relative);
        } catch (InvalidPathException e) {
            throw new PathOutsideDataDirException(relative, root, "it is not a valid path (" + e.getReason() + ")");
        }
        // getRoot() also catches drive-relative forms like "C:foo" on Windows, which are not absolute.
        if (given.isAbsolute() || given.getRoot() != null) {
            throw new PathOutsideDataDirException(relative, root, "it is absolute");
        }
        Path candidate = root.resolve(given).normalize();
        if (!candidate.startsWith(root)) {
            throw new PathOutsideDataDirException(relative, root, "its '..' segments leave the data dir");
        }
        Path realAncestor = realPathOfDeepestExistingAncestor(relative, candidate);
        if (!realAncestor.startsWith(root)) {
            throw new PathOutsideDataDirException(relative, root,
                    "it goes through a symbolic link that points to " + realAncestor);
        }
        return candidate;
    }

    private Path realPathOfDeepestExistingAncestor(String relative, Path candidate) {
        Path existing = candidate;
        // NOFOLLOW_LINKS so a dangling symlink counts as existing: writing through it would create its target.
        while (!Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            if (existing.equals(root)) {
                throw new UncheckedIOException(new NoSuchFileException(root.toString(), null,
                        "the data dir no longer exists; recreate it or restart Quiver with a valid --data-dir"));
            }
            existing = existing.getParent();
        }
        try {
            return existing.toRealPath();
        } catch (NoSuchFileException e) {
            throw new PathOutsideDataDirException(relative, root,
                    "it goes through a symbolic link (" + existing + ") whose target does not exist");
        } catch (FileSystemException e) {
            throw new PathOutsideDataDirException(relative, root,
                    "its real location cannot be determined at " + existing + " (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot check where " + existing + " really points: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DataDir other && root.equals(other.root);
    }

    @Override
    public int hashCode() {
        return root.hashCode();
    }

    @Override
    public String toString() {
        return "DataDir[" + root + "]";
    }
}
