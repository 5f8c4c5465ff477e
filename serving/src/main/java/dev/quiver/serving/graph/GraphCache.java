package dev.quiver.serving.graph;

import dev.quiver.adapters.blob.AtomicFiles;
import dev.quiver.adapters.model.ModelDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiled graphs on disk, so a restart neither converts nor quantizes the weights again. An entry is a
 * directory named by the SHA-256 of the model's digest and every compile setting, holding the graph
 * ({@code model.onnx}), its weights ({@code weights.bin}) and a manifest of both files' lengths and CRC32C. It is
 * written into a temp directory and renamed into place, so readers see a whole entry or none; an entry whose
 * files do not match its manifest (a torn copy, a bad disk) is deleted and compiled again.
 *
 * <p>An entry's manifest records the compiler version that wrote it. A build never reads another version's
 * entries (the version is part of the key), so it deletes those nobody has opened for a day: upgrading Quiver
 * leaves one set of compiled graphs on disk, not one per version. Each hit marks its entry's directory as used
 * (its modification time), so the old replicas of a rolling upgrade sharing the directory keep theirs while they
 * run. The clean-up is best effort: what it cannot read or delete (another replica deleting the same entry, a
 * read-only volume) it leaves.
 *
 * <p>The model digest covers {@code config.json}'s bytes and each weight file's name, size and modification
 * time: hashing gigabytes of weights at every start would cost what the cache saves, and replacing a weight
 * file changes its time.
 */
public final class GraphCache {
    /** Bump when the compiler emits a different graph for the same model and settings (ops, block sizes). */
    static final String COMPILER_VERSION = "12";
    private static final String MANIFEST = "manifest.properties";
    /** The manifest's record of {@link CompiledDecoder#weightBytes()}, what a decode step reads. */
    private static final String WEIGHT_BYTES = "weight_bytes";
    /** The manifest's record of the {@link #COMPILER_VERSION} that wrote the entry. */
    private static final String COMPILER = "compiler";
    private static final Duration STALE_TEMP = Duration.ofHours(1);
    /** How long an entry of another compiler version is kept after it was last opened. */
    private static final Duration STALE_OTHER_VERSION = Duration.ofDays(1);
    private static final Logger LOG = LoggerFactory.getLogger(GraphCache.class);

    private final Path dir;

    public GraphCache(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** Where an entry came from, and how long it took to have it. */
    public record Entry(Path modelFile, long weightBytes, boolean hit, long nanos) {
    }

    /** The cached graph of {@code model} under {@code options}, compiled and stored first when absent or corrupt. */
    public Entry get(ModelDirectory model, CompileOptions options) throws IOException {
        long start = System.nanoTime();
        Path entry = dir.resolve(key(model, options));
        if (Files.isDirectory(entry)) {
            Optional<Properties> manifest = validManifest(entry);
            if (manifest.isPresent()) {
                markUsed(entry);
                removeOtherVersions();
                return new Entry(entry.resolve(CompiledDecoder.MODEL_FILE), weightBytes(manifest.get()), true,
                        System.nanoTime() - start);
            }
            deleteTree(entry);
        }
        Files.createDirectories(dir);
        removeStaleTemps();
        removeOtherVersions();
        store(entry, model, options);
        // the compiled buffers are garbage now, but direct memory is released only when they are collected: do
        // it before ONNX Runtime maps the stored weights, or a first start peaks at two copies of the weights
        System.gc();
        return new Entry(entry.resolve(CompiledDecoder.MODEL_FILE), weightBytes(manifest(entry)), false,
                System.nanoTime() - start);
    }

    private static void store(Path entry, ModelDirectory model, CompileOptions options) throws IOException {
        CompiledDecoder decoder = new DecoderGraphCompiler(options).compile(model);
        try {
            AtomicFiles.writeDirectoryAtomically(entry, tmp -> {
                decoder.writeTo(tmp);
                Properties manifest = new Properties();
                for (String file : List.of(CompiledDecoder.MODEL_FILE, CompiledDecoder.WEIGHTS_FILE)) {
                    manifest.setProperty(file + ".length", Long.toString(Files.size(tmp.resolve(file))));
                    manifest.setProperty(file + ".crc32c", Long.toString(crc(tmp.resolve(file))));
                }
                manifest.setProperty(WEIGHT_BYTES, Long.toString(decoder.weightBytes()));
                manifest.setProperty(COMPILER, COMPILER_VERSION);
                try (var out = Files.newOutputStream(tmp.resolve(MANIFEST), StandardOpenOption.CREATE_NEW)) {
                    manifest.store(out, "quiver compiled graph " + entry.getFileName());
                }
            });
        } catch (IOException e) {
            // another process (a replica on the same volume) may have stored the same entry meanwhile: then the
            // rename fails (already exists, or not empty) and theirs is used
            if (!Files.isDirectory(entry) || validManifest(entry).isEmpty()) {
                throw e;
            }
        }
    }

    /** The entry name: SHA-256 of the compiler version, the model digest and every compile setting. */
    public static String key(ModelDirectory model, CompileOptions options) throws IOException {
        MessageDigest sha = sha256();
        update(sha, "compiler " + COMPILER_VERSION);
        update(sha, "quantization " + options.quantization().label());
        update(sha, "lora_kernel " + options.loraKernel().label());
        update(sha, "quantized_kernel " + options.quantizedKernel().label());
        update(sha, "attention_kernel " + options.attentionKernel().label());
        update(sha, "max_sequence_length " + options.maxSequenceLength());
        update(sha, "lora " + options.lora().slots() + " " + options.lora().maxRank() + " "
                + String.join(",", options.lora().targetModules()));
        Path root = model.path();
        sha.update(Files.readAllBytes(root.resolve("config.json")));
        List<Path> weights;
        try (Stream<Path> files = Files.list(root)) {
            weights = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")
                    || p.getFileName().toString().endsWith(".safetensors.index.json")).sorted().toList();
        }
        for (Path w : weights) {
            update(sha, w.getFileName() + " " + Files.size(w) + " " + Files.getLastModifiedTime(w).toMillis());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The entry's manifest when its files match it (lengths and CRC32C), else empty. */
    private static Optional<Properties> validManifest(Path entry) {
        try {
            Properties manifest = manifest(entry);
            if (manifest.getProperty(WEIGHT_BYTES) == null) {
                return Optional.empty();
            }
            for (String file : List.of(CompiledDecoder.MODEL_FILE, CompiledDecoder.WEIGHTS_FILE)) {
                Path p = entry.resolve(file);
                if (!Long.toString(Files.size(p)).equals(manifest.getProperty(file + ".length"))
                        || !Long.toString(crc(p)).equals(manifest.getProperty(file + ".crc32c"))) {
                    return Optional.empty();
                }
            }
            return Optional.of(manifest);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Properties manifest(Path entry) throws IOException {
        Properties manifest = new Properties();
        try (InputStream in = Files.newInputStream(entry.resolve(MANIFEST))) {
            manifest.load(in);
        }
        return manifest;
    }

    private static long weightBytes(Properties manifest) {
        return Long.parseLong(manifest.getProperty(WEIGHT_BYTES));
    }

    private static long crc(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            while (in.read(buffer.clear()) > 0) {
                crc.update(buffer.flip());
            }
        }
        return crc.getValue();
    }

    /** Temp directories of writers that died (a crash mid-write); a live writer's are younger than an hour. */
    private void removeStaleTemps() throws IOException {
        Instant cutoff = Instant.now().minus(STALE_TEMP);
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.filter(p -> p.getFileName().toString().startsWith(".")
                    && p.getFileName().toString().contains(".tmp-")).toList()) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) {
                    deleteTree(p);
                }
            }
        }
    }

    /** The entry was opened now (best effort: a read-only cache keeps its times). */
    private static void markUsed(Path entry) {
        try {
            Files.setLastModifiedTime(entry, FileTime.from(Instant.now()));
        } catch (IOException e) {
            LOG.debug("could not mark graph cache entry {} as used: {}", entry.getFileName(), e.getMessage());
        }
    }

    /**
     * Entries another compiler version wrote (or an older build, whose manifests name none), or with no manifest,
     * that nobody opened for {@link #STALE_OTHER_VERSION}: this build's keys never name them. Only manifests are
     * read; an entry whose manifest cannot be read for another reason, or that cannot be deleted, is left.
     */
    private void removeOtherVersions() {
        List<Path> entries;
        try (Stream<Path> list = Files.list(dir)) {
            entries = list.filter(p -> p.getFileName().toString().matches("[0-9a-f]{64}")
                    && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            LOG.debug("could not list graph cache {}: {}", dir, e.getMessage());
            return;
        }
        Instant cutoff = Instant.now().minus(STALE_OTHER_VERSION);
        for (Path p : entries) {
            try {
                String version;
                try {
                    version = manifest(p).getProperty(COMPILER);
                } catch (NoSuchFileException e) {
                    version = null;
                }
                if (!COMPILER_VERSION.equals(version)
                        && Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
                    deleteTree(p);
                }
            } catch (IOException e) {
                LOG.debug("left graph cache entry {}: {}", p.getFileName(), e.getMessage());
            }
        }
    }

    /** Deletes root and everything in it; what another process deleted meanwhile is not an error. */
    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (NoSuchFileException e) {
            // gone already
        } catch (UncheckedIOException e) {
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw e.getCause();
            }
        }
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
