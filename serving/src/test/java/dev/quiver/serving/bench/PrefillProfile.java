package dev.quiver.serving.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.DecoderGraphCompiler;
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
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Where prefill time goes: prefills {@code prompt} tokens in chunks of {@code chunk} through the engine's
 * graph (all-linear LoRA branches, no adapter bound, as a base request runs) with ONNX Runtime's profiler on,
 * prints prefill tokens/s and GFLOPS (best and mean prefill) against the MatMul peak (best run) measured in the
 * same process, then the share of kernel time per op type. Not a test: run by hand,
 * {@code java -cp ... dev.quiver.serving.bench.PrefillProfile WORK_DIR small 2 512 64,128,512 3 5 int8}
 * (work dir, size, threads, prompt, chunk sizes, prefills per timing, rounds, quantization: none unless given).
 */
public final class PrefillProfile {
    private PrefillProfile() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        int prompt = Integer.parseInt(args[3]);
        int[] chunks = Arrays.stream(args[4].split(",")).mapToInt(Integer::parseInt).toArray();
        int reps = Integer.parseInt(args[5]);
        int rounds = args.length > 6 ? Integer.parseInt(args[6]) : 1;
        Quantization quantization = args.length > 7 ? Quantization.parse(args[7]) : Quantization.NONE;
        Path dir = ServeBenchmark.demoModel(work, size);
        ModelConfig c = ModelConfig.load(dir);
        Path profile = Files.createTempDirectory("quiver-prefill-profile").resolve("prefill");
        SessionSettings run = SessionSettings.cpu(threads).withProfile(profile);
        String file;
        double[] best = new double[chunks.length];
        double[] total = new double[chunks.length];
        Arrays.fill(best, Double.MAX_VALUE);
        double peak = 0;
        try (ModelDirectory model = ModelDirectory.open(dir);
             DecoderSession session = DecoderSession.open(new DecoderGraphCompiler(CompileOptions.builder()
                     .optMaxSequenceLength(prompt + 1).optLora(new LoraLayout(2, 16, ModelConfig.LINEAR_MODULES))
                     .optQuantization(quantization).build()).compile(model), 1, run)) {
            int[] tokens = new SplittableRandom(1).ints(prompt, 3, Math.min(c.vocabSize(), 4096)).toArray();
            for (int chunk : chunks) {
                prefill(session, tokens, chunk); // warm-up: allocations and prepacking per shape
            }
            // chunk sizes interleaved round by round, best of each, so machine noise hits them alike
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < chunks.length; i++) {
                    long began = System.nanoTime();
                    for (int r = 0; r < reps; r++) {
                        prefill(session, tokens, chunks[i]);
                    }
                    double seconds = (System.nanoTime() - began) / 1e9;
                    best[i] = Math.min(best[i], seconds / reps);
                    total[i] += seconds;
                }
                peak = Math.max(peak, OrtCeilings.matmulGflops(SessionSettings.cpu(threads), c.hiddenSize(),
                        c.intermediateSize()));
            }
            file = session.endProfiling();
        }
        System.out.printf("%s threads %d prompt %d: matmul peak %.1f GFLOPS (%dx%dx%d)%n", size.label(), threads,
                prompt, peak, OrtCeilings.PEAK_M, c.hiddenSize(), c.intermediateSize());
        double flops = PrefillFlops.perToken(c, prompt) * prompt;
        for (int i = 0; i < chunks.length; i++) {
            double bestGflops = flops / best[i] / 1e9;
            double meanGflops = flops * rounds * reps / total[i] / 1e9;
            System.out.printf("  chunk %4d: prefill %8.1f tok/s best, %8.1f mean; %6.1f GFLOPS best (%.3f of peak),"
                    + " %6.1f mean (%.3f)%n", chunks[i], prompt / best[i], prompt * rounds * reps / total[i],
                    bestGflops, bestGflops / peak, meanGflops, meanGflops / peak);
        }
        printShares(Path.of(file), c.vocabSize());
        Files.delete(Path.of(file));
        Files.delete(profile.getParent());
    }

    private static void prefill(DecoderSession session, int[] tokens, int chunk) throws Exception {
        for (int from = 0; from < tokens.length; from += chunk) {
            int[] part = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + chunk));
            boolean last = from + part.length == tokens.length;
            session.run(last ? StepBatch.prefill(0, part, from, 0, false)
                    : StepBatch.prefillWithoutLogits(0, part, from, 0));
        }
    }

    // kernel time per op type, and the output shapes of the LM head (the one op with a vocab-wide output)
    private static void printShares(Path file, int vocab) throws Exception {
        JsonNode events = new ObjectMapper().readTree(file.toFile());
        Map<String, Double> byOp = new TreeMap<>();
        Map<String, Integer> headShapes = new TreeMap<>();
        double total = 0;
        double runs = 0;
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if ("Session".equals(e.path("cat").asText()) && name.equals("model_run")) {
                runs += e.path("dur").asDouble();
            }
            if (!"Node".equals(e.path("cat").asText()) || !name.endsWith("_kernel_time")) {
                continue;
            }
            String op = e.path("args").path("op_name").asText();
            for (JsonNode output : e.path("args").path("output_type_shape")) {
                JsonNode dims = output.elements().next();
                if (dims.size() > 0 && dims.get(dims.size() - 1).asInt() == vocab) {
                    headShapes.merge(op + " " + dims, 1, Integer::sum);
                }
            }
            double dur = e.path("dur").asDouble();
            byOp.merge(op, dur, Double::sum);
            total += dur;
        }
        Map<String, Double> sorted = new LinkedHashMap<>();
        byOp.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .forEach(en -> sorted.put(en.getKey(), en.getValue()));
        System.out.printf("kernel time %.1f ms of %.1f ms in model_run (%.1f%%)%n", total / 1e3, runs / 1e3,
                100 * total / runs);
        for (Map.Entry<String, Double> en : sorted.entrySet()) {
            System.out.printf("  %-34s %6.1f%%  %9.1f ms%n", en.getKey(), 100 * en.getValue() / total,
                    en.getValue() / 1e3);
        }
        System.out.println("vocab-wide outputs (the LM head), shape x runs: " + headShapes);
    }
}
