package dev.quiver.adapters.blob;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Content-addressed store for uploaded files, datasets and adapter artifacts, under {@code <data-dir>/blobs}.
 *
 * <p>Layout: {@code blobs/sha256/<first 2 hex>/<64 hex>} for content and {@code blobs/tmp/} for writes
 * in progress. A blob appears under its final name only once fully written and fsynced, so a reader
 * that finds a name can trust its content (barring later disk corruption, see {@link #verify}).
 */
public final class BlobStore {

    private static final int BUFFER_SIZE = 64 * 1024;
    private static final HexFormat HEX = HexFormat.of();

    private final Path blobsDir;
    private final Path tmpDir;
    private final Path shaDir;

    public BlobStore(DataDir dataDir) {
        Objects.requireNonNull(dataDir, "dataDir");
        // Through DataDir.resolve so that a "blobs" symlink pointing outside the data dir is refused.
        this.blobsDir = dataDir.resolve("blobs");
        this.tmpDir = blobsDir.resolve("tmp");
        this.shaDir = blobsDir.resolve("sha256");
        try {
            Files.createDirectories(tmpDir);
            Files.createDirectories(shaDir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create blob store directories under " + blobsDir
                    + ": " + e.getMessage() + ". Check that the data dir is writable.", e);
        }
    }

    /** The {@code blobs/} directory this store manages. */
    public Path directory() {
        return blobsDir;
    }

    /** Stores everything {@code in} yields, without a size limit. Does not close {@code in}. */
    public BlobRef put(InputStream in) throws IOException {
        return put(in, Long.MAX_VALUE);
    }

    /**
     * Stores {@code in}'s content, streaming it to disk while hashing. Does not close {@code in}.
     *
     * <p>If the stream fails, or yields more than {@code maxBytes}, nothing is left behind. Storing
     * content that is already present returns the same reference and keeps a single copy.
     *
     * @throws BlobTooLargeException as soon as more than {@code maxBytes} bytes have been read
     */
    public BlobRef put(InputStream in, long maxBytes) throws IOException {
        Objects.requireNonNull(in, "in");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0 but was " + maxBytes);
        }
        // tmp/ is on the same filesystem as sha256/, which the atomic rename below requires.
        Path temp = Files.createTempFile(tmpDir, "put-", ".tmp");
        try {
            MessageDigest digest = sha256Digest();
            long size = 0;
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                byte[] buffer = new byte[BUFFER_SIZE];
                while (true) {
                    // Never ask for more than one byte past the limit, so an endless source is cut off
                    // promptly. Written without "maxBytes + 1", which overflows for Long.MAX_VALUE.
                    long remaining = maxBytes - size;
                    int wanted = remaining >= buffer.length ? buffer.length : (int) remaining + 1;
                    int read = in.read(buffer, 0, wanted);
                    if (read < 0) {
                        break;
                    }
                    size += read;
                    if (size > maxBytes) {
                        throw new BlobTooLargeException(maxBytes);
                    }
                    digest.update(buffer, 0, read);
                    ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, read);
                    while (chunk.hasRemaining()) {
                        channel.write(chunk);
                    }
                }
                channel.force(true);
            }
            BlobRef ref = new BlobRef(HEX.formatHex(digest.digest()), size);
            publish(temp, ref);
            return ref;
        } catch (IOException | RuntimeException | Error e) {
            AtomicFiles.deleteQuietly(temp, e);
            throw e;
        }
    }

    /** Stores the content of {@code file}. */
    public BlobRef put(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return put(in);
        }
    }

    /** The stored file for {@code sha256}, if present. Treat it as read-only. */
    public Optional<Path> path(String sha256) {
        Path file = blobPath(sha256);
        return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? Optional.of(file) : Optional.empty();
    }

    /** Whether content with this digest is stored. */
    public boolean exists(String sha256) {
        return path(sha256).isPresent();
    }

    /**
     * Opens the stored content for reading.
     *
     * @throws NoSuchFileException if no blob with this digest is stored
     */
    public InputStream open(String sha256) throws IOException {
        return Files.newInputStream(requirePresent(sha256));
    }

    /** Removes the blob; returns false if it was not stored. */
    public boolean delete(String sha256) throws IOException {
        Path file = blobPath(sha256);
        boolean deleted = Files.deleteIfExists(file);
        if (deleted) {
            deleteShardIfEmpty(file.getParent());
        }
        return deleted;
    }

    /**
     * Deletes what no one will read: writes that a crash interrupted in {@code tmp/}, and blobs that
     * {@code referenced} does not claim. Only entries last modified before {@code olderThan} go, so that an
     * upload still being written or validated (possibly by another process sharing the store) is kept.
     *
     * @return how many files were deleted
     */
    public int sweep(Predicate<String> referenced, Instant olderThan) throws IOException {
        int deleted = 0;
        for (Path file : files(tmpDir)) {
            deleted += deleteIfOlder(file, olderThan) ? 1 : 0;
        }
        for (Path file : files(shaDir)) {
            String name = file.getFileName().toString();
            if (BlobRef.isSha256(name) && !referenced.test(name) && deleteIfOlder(file, olderThan)) {
                deleteShardIfEmpty(file.getParent());
                deleted++;
            }
        }
        return deleted;
    }

    /** An empty shard directory is removed too, so that a discarded upload leaves no trace at all. */
    private void deleteShardIfEmpty(Path shard) {
        try {
            Files.delete(shard);
            AtomicFiles.forceDirectory(shaDir);
        } catch (DirectoryNotEmptyException | NoSuchFileException e) {
            AtomicFiles.forceDirectory(shard);
        } catch (IOException e) {
            // an empty shard costs nothing, and publish() recreates shards as needed
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
        }
    }

    private static boolean deleteIfOlder(Path file, Instant olderThan) throws IOException {
        try {
            return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(olderThan)
                    && Files.deleteIfExists(file);
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /**
     * Re-hashes the stored blob to detect on-disk corruption.
     *
     * @throws NoSuchFileException if no blob with this digest is stored
     * @throws BlobCorruptedException if its content no longer hashes to {@code sha256}
     */
    public void verify(String sha256) throws IOException {
        Path file = requirePresent(sha256);
        MessageDigest digest = sha256Digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[BUFFER_SIZE];
            int read;
            while ((read = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, read);
            }
        }
        String actual = HEX.formatHex(digest.digest());
        if (!actual.equals(sha256)) {
            throw new BlobCorruptedException(file, sha256, actual);
        }
    }

    private void publish(Path temp, BlobRef ref) throws IOException {
        Path target = blobPath(ref.sha256());
        // Same name means same content, so an existing copy is kept. A size mismatch can only mean
        // the existing copy is damaged, and then the fresh one replaces it.
        if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) == ref.size()) {
            Files.delete(temp);
            return;
        }
        Path shard = target.getParent();
        for (int attempt = 1; ; attempt++) {
            boolean newShard = !Files.isDirectory(shard);
            Files.createDirectories(shard);
            if (newShard) {
                AtomicFiles.forceDirectory(shaDir);
            }
            try {
                // Replacing is safe if a concurrent put of the same content won the race: the bytes are identical.
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                break;
            } catch (NoSuchFileException e) {
                // a concurrent delete removed the shard as it emptied; make it again
                if (attempt == 3 || !Files.exists(temp)) {
                    throw e;
                }
            }
        }
        AtomicFiles.forceDirectory(shard);
    }

    private Path requirePresent(String sha256) throws NoSuchFileException {
        return path(sha256).orElseThrow(() -> new NoSuchFileException(blobPath(sha256).toString(), null,
                "no blob sha256:" + sha256 + " in the blob store at " + blobsDir
                        + "; store it with BlobStore.put first or check the digest"));
    }

    private Path blobPath(String sha256) {
        BlobRef.requireSha256(sha256);
        return shaDir.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform but is missing", e);
        }
    }
}
