package dev.quiver.serving.bench;

import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.GraphCache;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.SessionSettings;
import dev.quiver.serving.runtime.StepBatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Per quantization mode: compile (and quantize) time, session-open time, weight bytes, a 128-token prefill and
 * the median batch-1 decode step on the base. Not a test: run by hand,
 * {@code QuantizedDecodeBenchmark WORK_DIR small|qwen3-0.6b STEPS THREADS [none,int8,int4] [memory|cache]}:
 * {@code memory} hands ORT the compiled buffers, {@code cache} opens the graph file of a {@link GraphCache} in
 * WORK_DIR (a miss compiles and stores it). Prints the process's peak resident size (VmHWM) after the open, so run
 * one mode per JVM to read a mode's start-up peak.
 */
public final class QuantizedDecodeBenchmark {
    private QuantizedDecodeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int steps = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        String[] modes = args.length > 4 ? args[4].split(",") : new String[] {"none", "int8", "int4"};
        boolean cached = args.length > 5 && args[5].equals("cache");
        Path dir = work.resolve("model-qwen3-" + size.label());
        if (!Files.exists(dir.resolve("config.json"))) {
            DemoModelMaker.write(dir, new DemoModelMaker.Spec(ModelFamily.QWEN3, size, 1, DType.BF16));
        }
        int prompt = 128;
        for (String mode : modes) {
            Quantization q = Quantization.parse(mode);
            long t0 = System.nanoTime();
            CompileOptions options = CompileOptions.builder().optMaxSequenceLength(prompt + steps + 1)
                    .optLora(LoraLayout.allLinear(2, 16)).optQuantization(q).build();
            long weightBytes;
            DecoderSession opened;
            String how;
            long t1;
            try (ModelDirectory model = ModelDirectory.open(dir)) {
                if (cached) {
                    GraphCache.Entry entry = new GraphCache(work.resolve("graph-cache")).get(model, options);
                    t1 = System.nanoTime();
                    weightBytes = entry.weightBytes();
                    how = entry.hit() ? "cache hit" : "cache miss (compiled and stored)";
                    opened = DecoderSession.open(entry.modelFile(), new DecoderGraphCompiler(options).signature(model),
                            entry.weightBytes(), 1, SessionSettings.cpu(threads));
                } else {
                    CompiledDecoder decoder = new DecoderGraphCompiler(options).compile(model);
                    t1 = System.nanoTime();
                    weightBytes = decoder.weightBytes();
                    how = "in memory";
                    opened = DecoderSession.open(decoder, 1, threads);
                }
            }
            try (DecoderSession session = opened) {
                long t2 = System.nanoTime();
                int[] tokens = new int[prompt];
                for (int i = 0; i < prompt; i++) {
                    tokens[i] = (i * 31 + 7) % 1000;
                }
                long p0 = System.nanoTime();
                session.run(StepBatch.prefill(0, tokens, 0, 0, false));
                long p1 = System.nanoTime();
                double[] times = new double[steps];
                for (int s = 0; s < steps; s++) {
                    long a = System.nanoTime();
                    session.run(new StepBatch(0, new int[][] {{(s * 13) % 1000}}, new int[] {prompt + s},
                            new int[] {0}, new int[][] {{0}}));
                    times[s] = (System.nanoTime() - a) / 1e6;
                }
                Arrays.sort(times);
                double median = times[steps / 2];
                System.out.printf("%s %s threads=%d %s: compile %.1f s, open %.1f s, peak RSS %s, weights %.1f MB,"
                                + " prefill %d tok %.0f tok/s, decode median %.2f ms (%.1f tok/s), %.1f GB/s of weights%n",
                        size.label(), q.label(), threads, how, (t1 - t0) / 1e9, (t2 - t1) / 1e9, peakRss(), weightBytes / 1e6,
                        prompt, prompt / ((p1 - p0) / 1e9), median, 1000 / median,
                        weightBytes / 1e9 / (median / 1000));
            }
        }
    }

    private static String peakRss() {
        return ProcessMemory.peakResidentBytes() / 1024 + " kB";
    }
}
