package dev.quiver.serving.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.serving.graph.CompileOptions;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a decode step's time goes: opens the serve benchmark's graph (from its graph cache, prompt 128 + 64
 * generated, all-linear LoRA of rank 16 with {@code slots} adapter slots), runs decode steps at each batch size
 * with every row on the base or on adapter slots, and prints the step time (wall, around
 * {@link DecoderSession#run}) next to ONNX Runtime's own {@code model_run} time, the kernel time, the number of
 * nodes run per step and the share of each op type. Not a test: run by hand,
 * {@code java -cp ... dev.quiver.serving.bench.DecodeProfile WORK_DIR qwen3-0.6b 2 int8 1,8 40 1}
 * (work dir, size, threads, quantization, batch sizes, steps, adapter slots bound per step: 0 = all base).
 */
public final class DecodeProfile {
    private static final int PAST = 128;

    private DecodeProfile() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        Quantization quantization = Quantization.parse(args[3]);
        int[] batches = Arrays.stream(args[4].split(",")).mapToInt(Integer::parseInt).toArray();
        int steps = Integer.parseInt(args[5]);
        int bound = Integer.parseInt(args[6]);
        int maxBatch = Arrays.stream(batches).max().orElseThrow();
        Path dir = ServeBenchmark.demoModel(work, size);
        ModelConfig c = ModelConfig.load(dir);
        Path profile = Files.createTempDirectory("quiver-decode-profile").resolve("decode");
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            CompileOptions options = CompileOptions.builder().optMaxSequenceLength(PAST + 64 + 1)
                    .optLora(new LoraLayout(Math.max(1, bound) + 1, 16, ModelConfig.LINEAR_MODULES))
                    .optQuantization(quantization).build();
            GraphCache.Entry graph = new GraphCache(work.resolve("graph-cache")).get(model, options);
            var signature = new DecoderGraphCompiler(options).signature(model);
            for (boolean profiled : new boolean[] {false, true}) {
                SessionSettings run = profiled ? SessionSettings.cpu(threads).withProfile(profile)
                        : SessionSettings.cpu(threads);
                try (DecoderSession session = DecoderSession.open(graph.modelFile(), signature, graph.weightBytes(),
                        maxBatch, run)) {
                    for (int b : batches) {
                        int[] tokens = new int[b];
                        int[] past = new int[b];
                        int[] slots = new int[b];
                        for (int r = 0; r < b; r++) {
                            tokens[r] = 3 + 17 * r;
                            past[r] = PAST;
                            slots[r] = bound == 0 ? LoraLayout.BASE_SLOT : 1 + r % bound;
                        }
                        StepBatch step = StepBatch.decode(tokens, past, slots);
                        for (int i = 0; i < 5; i++) {
                            session.run(step);
                        }
                        long[] nanos = new long[steps];
                        for (int i = 0; i < steps; i++) {
                            long t0 = System.nanoTime();
                            session.run(step);
                            nanos[i] = System.nanoTime() - t0;
                        }
                        Arrays.sort(nanos);
                        double mean = Arrays.stream(nanos).average().orElseThrow() / 1e6;
                        System.out.printf("%s %s threads %d batch %d slots bound %d%s: step %.2f ms median,"
                                        + " %.2f mean, %.1f tok/s%n", size.label(), quantization, threads, b, bound,
                                profiled ? " (profiled)" : "", nanos[steps / 2] / 1e6, mean, b * 1e3 / mean);
                    }
                    if (profiled) {
                        printShares(Path.of(session.endProfiling()), steps + 5, batches);
                    }
                }
            }
        }
        Files.deleteIfExists(profile.getParent());
    }

    // per batch size (runs in order), per step: model_run, kernel time, node count, kernel time per op type
    private static void printShares(Path file, int runsPerBatch, int[] batches) throws Exception {
        JsonNode events = new ObjectMapper().readTree(file.toFile());
        int run = -1;
        double[] modelRun = new double[batches.length];
        double[] kernel = new double[batches.length];
        int[] nodes = new int[batches.length];
        java.util.List<Map<String, double[]>> byOp = new java.util.ArrayList<>();
        for (int i = 0; i < batches.length; i++) {
            byOp.add(new TreeMap<>());
        }
        // events are written as they end: a run's nodes come before its model_run event
        java.util.List<JsonNode> pending = new java.util.ArrayList<>();
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if ("Node".equals(e.path("cat").asText()) && name.endsWith("_kernel_time")) {
                pending.add(e);
            } else if ("Session".equals(e.path("cat").asText()) && name.equals("model_run")) {
                run++;
                int batch = run / runsPerBatch;
                boolean counted = run % runsPerBatch >= 5 && batch < batches.length;
                if (counted) {
                    modelRun[batch] += e.path("dur").asDouble();
                    for (JsonNode n : pending) {
                        double dur = n.path("dur").asDouble();
                        kernel[batch] += dur;
                        nodes[batch]++;
                        String op = n.path("args").path("op_name").asText();
                        // quantized linear layers per module (layer numbers dropped), the rest per op type
                        String key = op.equals("MatMulNBits") || op.startsWith("MatMulQ") ? op + " " + n.path("name").asText()
                                .replace("_kernel_time", "").replaceAll("\\.[0-9]+\\.", ".N.") : op;
                        double[] acc = byOp.get(batch).computeIfAbsent(key, k -> new double[2]);
                        acc[0] += dur;
                        acc[1]++;
                    }
                }
                pending.clear();
            }
        }
        int counted = runsPerBatch - 5;
        for (int i = 0; i < batches.length; i++) {
            System.out.printf("batch %d: model_run %.2f ms/step, kernels %.2f ms/step (%.1f%%), %d nodes/step%n",
                    batches[i], modelRun[i] / counted / 1e3, kernel[i] / counted / 1e3,
                    100 * kernel[i] / modelRun[i], nodes[i] / counted);
            Map<String, double[]> sorted = new LinkedHashMap<>();
            byOp.get(i).entrySet().stream().sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]))
                    .forEach(en -> sorted.put(en.getKey(), en.getValue()));
            for (Map.Entry<String, double[]> en : sorted.entrySet()) {
                System.out.printf("  %-56s %7.3f ms/step %5d/step %7.1f us each%n", en.getKey(),
                        en.getValue()[0] / counted / 1e3, (int) (en.getValue()[1] / counted),
                        en.getValue()[0] / en.getValue()[1]);
            }
        }
        Files.delete(file);
    }
}
