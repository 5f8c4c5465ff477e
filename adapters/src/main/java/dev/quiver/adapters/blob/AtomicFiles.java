package dev.quiver.adapters.blob;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/** Crash-safe file and directory writes: write to a sibling temp, fsync, then atomically rename into place. */
public final class AtomicFiles {

    private AtomicFiles() {
    }

    /** Replaces (or creates) {@code target} so that readers see either the old or the new content, never a mix. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Objects.requireNonNull(content, "content");
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = parentOf(absolute);
        Files.createDirectories(parent);
        // Same directory as the target: a rename is only atomic within one filesystem.
        Path temp = Files.createTempFile(parent, "." + absolute.getFileName() + ".tmp-", "");
        try {
            makeReadable(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(temp, e);
            throw e;
        }
        forceDirectory(parent);
    }

    /** UTF-8 variant of {@link #writeAtomically(Path, byte[])}. */
    public static void writeAtomically(Path target, String content) throws IOException {
        writeAtomically(target, content.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Creates directory {@code target} with everything {@code writer} puts into it, all at once.
     *
     * <p>The writer fills a sibling {@code .<name>.tmp-<random>} directory; every file and directory
     * in it is fsynced before the rename, so after a crash {@code target} is either absent or
     * complete. On any failure the temp directory is removed and the original exception rethrown.
     *
     * @throws FileAlreadyExistsException if {@code target} already exists (nothing is touched)
     */
    public static void writeDirectoryAtomically(Path target, DirectoryWriter writer) throws IOException {
        Objects.requireNonNull(writer, "writer");
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = parentOf(absolute);
        requireAbsent(absolute);
        Files.createDirectories(parent);
        Path temp = Files.createTempDirectory(parent, "." + absolute.getFileName() + ".tmp-");
        try {
            writer.write(temp);
            makeReadable(temp);
            forceTree(temp);
            // Checked again because the writer may have run for a long time. Linux rename(2) would
            // silently replace an empty directory created in between; the JDK has no RENAME_NOREPLACE.
            requireAbsent(absolute);
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            deleteTreeQuietly(temp, e);
            throw e;
        }
        forceDirectory(parent);
    }

    /** Flushes a regular file's content and metadata to disk. */
    static void forceFile(Path file) throws IOException {
        try (FileChannel channel = openForFlush(file)) {
            channel.force(true);
        }
    }

    private static FileChannel openForFlush(Path file) throws IOException {
        try {
            // Windows needs write access to flush; Linux and macOS accept a read-only handle,
            // which matters when the writer made its files read-only.
            return FileChannel.open(file, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            return FileChannel.open(file, StandardOpenOption.READ);
        }
    }

    /**
     * Flushes a directory entry table so a completed rename survives power loss. Best effort: Linux
     * supports opening a directory as a channel, other platforms may refuse, and there the rename
     * has already happened anyway.
     */
    static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Durability degrades to what the OS offers; correctness does not depend on this.
        }
    }

    private static void forceTree(Path root) throws IOException {
        List<Path> entries;
        try (Stream<Path> walk = Files.walk(root)) {
            entries = new ArrayList<>(walk.toList());
        }
        // Deepest first, so a directory is flushed after the entries created inside it.
        entries.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path entry : entries) {
            if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                makeReadable(entry);
                forceFile(entry);
            } else if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                forceDirectory(entry);
            }
        }
    }

    /**
     * Temp files and dirs are created owner-only; published models and adapters must be readable by
     * other users (a serving container often runs as another uid), so they get 644 / 755.
     */
    public static void makeReadable(Path path) throws IOException {
        if (!path.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        boolean dir = Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(dir ? "rwxr-xr-x" : "rw-r--r--"));
    }

    private static void requireAbsent(Path target) throws FileAlreadyExistsException {
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "refusing to replace an existing path; delete it first or choose a new name");
        }
    }

    private static Path parentOf(Path absolute) {
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null) {
            throw new IllegalArgumentException("Cannot write atomically to " + absolute
                    + ": it has no parent directory to hold the temp file; pass a path below a directory.");
        }
        return parent;
    }

    static void deleteQuietly(Path file, Throwable primary) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException cleanupFailure) {
            primary.addSuppressed(cleanupFailure);
        }
    }

    static void deleteTreeQuietly(Path root, Throwable primary) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // walk() does not follow symlinks, so a link the writer created is removed, not its target.
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(path -> deleteQuietly(path, primary));
        } catch (IOException | RuntimeException cleanupFailure) {
            primary.addSuppressed(cleanupFailure);
        }
    }
}
