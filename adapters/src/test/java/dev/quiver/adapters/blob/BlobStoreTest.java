package dev.quiver.adapters.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BlobStoreTest {

    private static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @TempDir
    Path tmp;

    private DataDir dataDir;
    private BlobStore store;

    @BeforeEach
    void setUp() {
        dataDir = new DataDir(tmp.resolve("data"));
        store = new BlobStore(dataDir);
    }

    @Test
    void putStoresContentUnderItsSha256AndReadsItBack() throws IOException {
        // Larger than the copy buffer, and not a multiple of it, so several chunks are hashed.
        byte[] content = randomBytes(200_003, 42);

        BlobRef ref = store.put(new ByteArrayInputStream(content));

        String expected = sha256Hex(content);
        assertThat(ref.sha256()).isEqualTo(expected);
        assertThat(ref.size()).isEqualTo(200_003);
        assertThat(ref.id()).isEqualTo("sha256:" + expected);
        assertThat(store.path(expected)).contains(
                dataDir.root().resolve("blobs/sha256").resolve(expected.substring(0, 2)).resolve(expected));
        assertThat(store.exists(expected)).isTrue();
        try (InputStream in = store.open(expected)) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
        assertThat(regularFilesUnder(dataDir.root().resolve("blobs/tmp"))).isEmpty();
    }

    @Test
    void emptyContentHasTheWellKnownEmptySha256() throws IOException {
        BlobRef ref = store.put(InputStream.nullInputStream());

        assertThat(ref).isEqualTo(new BlobRef(EMPTY_SHA256, 0));
        assertThat(store.path(EMPTY_SHA256).orElseThrow()).isEmptyFile();
    }

    @Test
    void puttingTheSameContentTwiceYieldsOneCopyAndTheSameRef() throws IOException {
        byte[] content = "adapter weights".getBytes();

        BlobRef first = store.put(new ByteArrayInputStream(content));
        BlobRef second = store.put(new ByteArrayInputStream(content));

        assertThat(second).isEqualTo(first);
        assertThat(regularFilesUnder(store.directory()))
                .containsExactly(store.path(first.sha256()).orElseThrow());
    }

    @Test
    void putFromFileMatchesPutFromStream() throws IOException {
        byte[] content = randomBytes(10_000, 7);
        Path file = Files.write(tmp.resolve("upload.jsonl"), content);

        BlobRef ref = store.put(file);

        assertThat(ref).isEqualTo(new BlobRef(sha256Hex(content), 10_000));
    }

    @Test
    void sourceFailingMidwayLeavesNoFileInTheStore() {
        InputStream failing = new FailingAfter(150_000);

        assertThatThrownBy(() -> store.put(failing))
                .isInstanceOf(IOException.class)
                .hasMessage("connection reset after 150000 bytes");
        assertThat(regularFilesUnder(store.directory())).isEmpty();
    }

    @Test
    void contentOverTheLimitIsRejectedAndLeavesNothing() {
        byte[] content = randomBytes(1001, 1);

        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(content), 1000))
                .isInstanceOf(BlobTooLargeException.class)
                .hasMessageContaining("1000 bytes")
                .satisfies(e -> assertThat(((BlobTooLargeException) e).maxBytes()).isEqualTo(1000));
        assertThat(regularFilesUnder(store.directory())).isEmpty();
    }

    @Test
    void contentExactlyAtTheLimitIsAccepted() throws IOException {
        byte[] content = randomBytes(1000, 2);

        BlobRef ref = store.put(new ByteArrayInputStream(content), 1000);

        assertThat(ref.size()).isEqualTo(1000);
    }

    @Test
    void endlessSourceIsCutOffRightAfterTheLimit() {
        CountingEndlessStream endless = new CountingEndlessStream();

        assertThatThrownBy(() -> store.put(endless, 100_000)).isInstanceOf(BlobTooLargeException.class);
        // Reads are capped at one byte past the limit, so the source is not drained further.
        assertThat(endless.bytesRead).isEqualTo(100_001);
        assertThat(regularFilesUnder(store.directory())).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "../x",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "e3b0c442",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "e3/0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ""
    })
    void digestsThatAreNotExactly64LowercaseHexAreRejectedEverywhere(String bad) {
        List<ThrowingCall> calls = List.of(
                () -> store.path(bad),
                () -> store.exists(bad),
                () -> store.open(bad),
                () -> store.delete(bad),
                () -> store.verify(bad));

        for (ThrowingCall call : calls) {
            assertThatThrownBy(call::run)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("64 lowercase hex");
        }
    }

    @Test
    void openingAnAbsentBlobNamesTheDigestAndTheStore() {
        assertThatThrownBy(() -> store.open(EMPTY_SHA256))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("sha256:" + EMPTY_SHA256)
                .hasMessageContaining(store.directory().toString());
        assertThat(store.exists(EMPTY_SHA256)).isFalse();
        assertThat(store.path(EMPTY_SHA256)).isEmpty();
    }

    @Test
    void deleteRemovesTheBlobAndReportsWhetherItExisted() throws IOException {
        BlobRef ref = store.put(new ByteArrayInputStream("dataset".getBytes()));

        assertThat(store.delete(ref.sha256())).isTrue();
        assertThat(store.exists(ref.sha256())).isFalse();
        assertThat(store.delete(ref.sha256())).isFalse();
    }

    @Test
    void verifyPassesForIntactBlobAndDetectsCorruption() throws IOException {
        byte[] content = randomBytes(5000, 3);
        BlobRef ref = store.put(new ByteArrayInputStream(content));
        store.verify(ref.sha256());

        Path file = store.path(ref.sha256()).orElseThrow();
        byte[] damaged = content.clone();
        damaged[2500] ^= 0x01;
        Files.write(file, damaged);

        assertThatThrownBy(() -> store.verify(ref.sha256()))
                .isInstanceOf(BlobCorruptedException.class)
                .hasMessageContaining(ref.sha256())
                .hasMessageContaining(sha256Hex(damaged))
                .satisfies(e -> assertThat(((BlobCorruptedException) e).actualSha256()).isEqualTo(sha256Hex(damaged)));
    }

    @Test
    void puttingContentAgainRepairsATruncatedCopy() throws IOException {
        byte[] content = randomBytes(5000, 4);
        BlobRef ref = store.put(new ByteArrayInputStream(content));
        Files.write(store.path(ref.sha256()).orElseThrow(), new byte[10]);

        store.put(new ByteArrayInputStream(content));

        store.verify(ref.sha256());
        assertThat(store.path(ref.sha256()).orElseThrow()).hasBinaryContent(content);
    }

    @Test
    void storeRefusesBlobsDirectorySymlinkedOutsideTheDataDir() throws IOException {
        DataDir other = new DataDir(tmp.resolve("other"));
        Path outside = Files.createDirectory(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(other.root().resolve("blobs"), outside);

        assertThatThrownBy(() -> new BlobStore(other)).isInstanceOf(PathOutsideDataDirException.class);
    }

    @Test
    void blobRefRejectsNegativeSize() {
        assertThatThrownBy(() -> new BlobRef(EMPTY_SHA256, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }

    @FunctionalInterface
    private interface ThrowingCall {
        void run() throws Exception;
    }

    /** Yields zero bytes up to a point, then fails like a dropped upload connection. */
    private static final class FailingAfter extends InputStream {
        private final int failAt;
        private int position;

        FailingAfter(int failAt) {
            this.failAt = failAt;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (position >= failAt) {
                throw new IOException("connection reset after " + failAt + " bytes");
            }
            int n = Math.min(len, failAt - position);
            position += n;
            return n;
        }
    }

    private static final class CountingEndlessStream extends InputStream {
        long bytesRead;

        @Override
        public int read() {
            bytesRead++;
            return 'a';
        }

        @Override
        public int read(byte[] b, int off, int len) {
            bytesRead += len;
            return len;
        }
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static String sha256Hex(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 missing from the JDK", e);
        }
    }

    private static List<Path> regularFilesUnder(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            throw new AssertionError("Cannot list " + dir, e);
        }
    }
}
