package dev.quiver.finetune.runner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A job's scratch space (the tenant's training data, checkpoints, every attempt's adapter): owner-only while
 * the job runs and deleted when it ends, also when the runner is stopped by a signal.
 */
public final class JobWorkDir implements AutoCloseable {
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private final Path path;
    private final Thread onSignal;

    private JobWorkDir(Path path) {
        this.path = path;
        // a cancelled job's runner is ended with SIGTERM, which runs shutdown hooks but no finally blocks
        this.onSignal = new Thread(this::deleteTree, "delete-" + path.getFileName());
        Runtime.getRuntime().addShutdownHook(onSignal);
    }

    /**
     * Makes {@code dir} afresh, owner-only. What an earlier attempt killed on this machine left there is
     * deleted first; a path this user does not own, or a symbolic link, is refused, since the default location
     * is in the shared temp dir where another user could have planted it.
     */
    public static JobWorkDir create(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS)) {
            requireOwnDirectory(absolute);
            deleteTree(absolute);
        }
        Files.createDirectories(absolute.getParent());
        boolean posix = absolute.getFileSystem().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attributes = posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
                : new FileAttribute<?>[0];
        try {
            Files.createDirectory(absolute, attributes);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("work dir " + absolute + " was created by someone else while this runner was"
                    + " starting; pass another --work-dir", e);
        }
        return new JobWorkDir(absolute);
    }

    private static void requireOwnDirectory(Path dir) throws IOException {
        boolean ownDirectory = Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                && Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"));
        if (!ownDirectory) {
            throw new IOException("work dir " + dir + " already exists and is not a directory of user "
                    + System.getProperty("user.name") + "; remove it or pass another --work-dir");
        }
    }

    /** The directory. */
    public Path path() {
        return path;
    }

    /** Deletes the directory and everything in it. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(onSignal);
        } catch (IllegalStateException e) {
            // already shutting down: the hook deletes the directory itself
        }
        deleteTree();
    }

    private void deleteTree() {
        try {
            deleteTree(path);
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete the work dir " + path + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
