package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.SessionSettings;
import dev.quiver.serving.runtime.StepBatch;
import dev.quiver.serving.testing.TestModels;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GraphCacheTest {
    @TempDir
    Path tmp;

    private static CompileOptions options(Quantization q) {
        return CompileOptions.builder().optMaxSequenceLength(16).optLora(LoraLayout.allLinear(2, 4))
                .optQuantization(q).build();
    }

    private static float[] logits(DecoderSession session) throws Exception {
        return session.run(StepBatch.prefill(0, new int[] {1, 2, 3, 4}, 0, 0, false))[0][0];
    }

    private List<String> entries(Path cache) throws Exception {
        try (Stream<Path> files = Files.list(cache)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aStoredGraphIsReusedAndRunsAsTheFreshlyCompiledOne() throws Exception {
        Path cache = tmp.resolve("graphs");
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            for (Quantization q : Quantization.values()) {
                DecoderGraphCompiler compiler = new DecoderGraphCompiler(options(q));
                float[] fresh;
                try (DecoderSession session = DecoderSession.open(compiler.compile(model), 1, 1)) {
                    fresh = logits(session);
                }
                GraphCache.Entry first = new GraphCache(cache).get(model, options(q));
                GraphCache.Entry second = new GraphCache(cache).get(model, options(q));
                assertThat(first.hit()).isFalse();
                assertThat(second.hit()).isTrue();
                assertThat(second.modelFile()).isEqualTo(first.modelFile());
                try (DecoderSession session = DecoderSession.open(second.modelFile(), compiler.signature(model),
                        second.weightBytes(), 1, SessionSettings.cpu(1))) {
                    assertThat(logits(session)).as(q.label()).containsExactly(fresh);
                }
            }
            // one entry per setting, and no temp directory left behind
            assertThat(entries(cache)).hasSize(3).allMatch(name -> name.matches("[0-9a-f]{64}"));
        }
    }

    @Test
    void theKeyChangesWithEverySettingAndTheWeights() throws Exception {
        Path dir = TestModels.tiny(tmp, ModelFamily.LLAMA);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            String base = GraphCache.key(model, options(Quantization.NONE));
            assertThat(GraphCache.key(model, options(Quantization.NONE))).isEqualTo(base);
            assertThat(GraphCache.key(model, options(Quantization.INT8))).isNotEqualTo(base);
            assertThat(GraphCache.key(model, CompileOptions.builder().optMaxSequenceLength(32)
                    .optLora(LoraLayout.allLinear(2, 4)).build())).isNotEqualTo(base);
            assertThat(GraphCache.key(model, CompileOptions.builder().optMaxSequenceLength(16)
                    .optLora(LoraLayout.allLinear(3, 4)).build())).isNotEqualTo(base);
            assertThat(GraphCache.key(model, CompileOptions.builder().optMaxSequenceLength(16)
                    .optLora(new LoraLayout(2, 4, List.of("q_proj"))).build())).isNotEqualTo(base);
            Path weights = dir.resolve("model.safetensors");
            Files.setLastModifiedTime(weights, java.nio.file.attribute.FileTime.fromMillis(
                    Files.getLastModifiedTime(weights).toMillis() + 5000));
            assertThat(GraphCache.key(model, options(Quantization.NONE))).isNotEqualTo(base);
        }
    }

    /**
     * Opening the cache deletes the entries another compiler version wrote (or an older build, whose manifests name
     * no version) once nobody has opened them for a day, which this build's keys never name; it keeps this
     * version's entries of other settings and another version's entry opened within the day (an old replica still
     * running during a rolling upgrade).
     */
    @Test
    void openingTheCacheRemovesOtherCompilerVersionsEntriesUnusedForADay() throws Exception {
        Path cache = tmp.resolve("graphs");
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            GraphCache.Entry other = new GraphCache(cache).get(model, options(Quantization.INT8));
            String older = fakeEntry(cache, "a", "compiler=1\nweight_bytes=1\n", 2);
            String unnamed = fakeEntry(cache, "b", "weight_bytes=1\n", 2);
            String recent = fakeEntry(cache, "c", "compiler=1\nweight_bytes=1\n", 0);
            Files.writeString(cache.resolve("d".repeat(64)), "a file, not an entry");
            GraphCache.Entry hit = new GraphCache(cache).get(model, options(Quantization.INT8));
            assertThat(hit.hit()).isTrue();
            assertThat(entries(cache)).containsExactlyInAnyOrder(other.modelFile().getParent().getFileName().toString(),
                    recent, "d".repeat(64));
            GraphCache.Entry compiled = new GraphCache(cache).get(model, options(Quantization.NONE));
            assertThat(compiled.hit()).isFalse();
            assertThat(entries(cache)).contains(compiled.modelFile().getParent().getFileName().toString(),
                    other.modelFile().getParent().getFileName().toString(), recent).doesNotContain(older, unnamed);
        }
    }

    /** Two processes cleaning the same stale entries at once: neither fails (each leaves what the other deleted). */
    @Test
    void twoCachesRemovingTheSameEntriesAtOnceBothOpen() throws Exception {
        Path cache = tmp.resolve("graphs");
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            GraphCache.Entry kept = new GraphCache(cache).get(model, options(Quantization.INT8));
            for (int i = 0; i < 200; i++) {
                fakeEntry(cache, String.format("%064x", i), "compiler=1\nweight_bytes=1\n", 2);
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                List<java.util.concurrent.Future<GraphCache.Entry>> hits = pool.invokeAll(List.of(
                        () -> new GraphCache(cache).get(model, options(Quantization.INT8)),
                        () -> new GraphCache(cache).get(model, options(Quantization.INT8))));
                for (java.util.concurrent.Future<GraphCache.Entry> hit : hits) {
                    assertThat(hit.get().hit()).isTrue();
                }
            } finally {
                pool.shutdown();
            }
            assertThat(entries(cache)).containsExactly(kept.modelFile().getParent().getFileName().toString());
        }
    }

    /** A directory named like an entry, with this manifest and a weights file, last opened {@code days} ago. */
    private static String fakeEntry(Path cache, String digits, String manifest, int days) throws Exception {
        String name = digits.length() == 64 ? digits : digits.repeat(64);
        Path entry = Files.createDirectories(cache.resolve(name));
        Files.writeString(entry.resolve("manifest.properties"), manifest);
        Files.writeString(entry.resolve(CompiledDecoder.WEIGHTS_FILE), "old weights");
        Files.setLastModifiedTime(entry, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(java.time.Duration.ofDays(days))));
        return name;
    }

    @Test
    void aCorruptOrPartialEntryIsDetectedAndRebuilt() throws Exception {
        Path cache = tmp.resolve("graphs");
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            CompileOptions options = options(Quantization.INT4);
            Path entry = new GraphCache(cache).get(model, options).modelFile().getParent();
            long weightsLength = Files.size(entry.resolve(CompiledDecoder.WEIGHTS_FILE));
            try (FileChannel ch = FileChannel.open(entry.resolve(CompiledDecoder.WEIGHTS_FILE),
                    StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {0x5a}), weightsLength / 2);
            }
            GraphCache.Entry rebuilt = new GraphCache(cache).get(model, options);
            assertThat(rebuilt.hit()).isFalse();
            assertThat(new GraphCache(cache).get(model, options).hit()).isTrue();

            Files.delete(entry.resolve("manifest.properties"));
            assertThat(new GraphCache(cache).get(model, options).hit()).isFalse();
            try (FileChannel ch = FileChannel.open(entry.resolve(CompiledDecoder.WEIGHTS_FILE),
                    StandardOpenOption.WRITE)) {
                ch.truncate(weightsLength - 100);
            }
            assertThat(new GraphCache(cache).get(model, options).hit()).isFalse();
            assertThat(Files.size(entry.resolve(CompiledDecoder.WEIGHTS_FILE))).isEqualTo(weightsLength);
            try (DecoderSession session = DecoderSession.open(entry.resolve(CompiledDecoder.MODEL_FILE),
                    new DecoderGraphCompiler(options).signature(model), weightsLength, 1, SessionSettings.cpu(1))) {
                assertThat(logits(session)).hasSize(model.config().vocabSize());
            }
            assertThat(entries(cache)).hasSize(1);
        }
    }

    /**
     * A tied fp32 head multiplies by the embedding table, which ONNX Runtime prepacks, reading every page of the
     * table's mapping. Under the lookup's initializer that mapping would stay (the Gather reads it) with the whole
     * table resident beside the packed copy; under one of its own it is released after packing.
     */
    @Test
    void aTiedHeadLeavesNoResidentCopyOfTheTable() throws Exception {
        assumeTrue(ProcessMemory.mappingsReadable(), "needs Linux's /proc/self/smaps");
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            assertThat(model.config().tieWordEmbeddings()).isTrue();
            long table = (long) model.config().vocabSize() * model.config().hiddenSize() * Float.BYTES;
            GraphCache.Entry entry = new GraphCache(tmp.resolve("graphs")).get(model, options(Quantization.NONE));
            String weights = entry.modelFile().resolveSibling(CompiledDecoder.WEIGHTS_FILE).toRealPath().toString();
            try (DecoderSession session = DecoderSession.open(entry.modelFile(),
                    new DecoderGraphCompiler(options(Quantization.NONE)).signature(model), entry.weightBytes(), 1,
                    SessionSettings.cpu(1))) {
                assertThat(logits(session)).hasSize(model.config().vocabSize());
                // the lookup's mapping holds the pages of the rows it read (and the kernel's fault-around)
                assertThat(ProcessMemory.mappings().stream().filter(m -> m.path().equals(weights))
                        .mapToLong(ProcessMemory.Mapping::residentBytes).max().orElse(0))
                        .as("resident bytes of the largest mapping of " + CompiledDecoder.WEIGHTS_FILE)
                        .isLessThan(table);
            }
        }
    }
}
