package dev.quiver.serving.bench;

import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.StepBatch;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Median time of one batched decode step on a graph without LoRA branches, and on the multi-LoRA graph with
 * every row on the base or rows spread over K adapters; the three are interleaved step by step so that noise
 * from other processes hits them alike. Not a test: run by hand,
 * {@code LoraBranchBenchmark WORK_DIR small 8 4 200 [THREADS [none|int8|int4]]}.
 */
public final class LoraBranchBenchmark {
    private LoraBranchBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int batch = Integer.parseInt(args[2]);
        int k = Integer.parseInt(args[3]);
        int steps = Integer.parseInt(args[4]);
        Path dir = ServeBenchmark.demoModel(work, size);
        int maxLen = 64 + steps + 1;
        int threads = args.length > 5 ? Integer.parseInt(args[5]) : Runtime.getRuntime().availableProcessors();
        Quantization quantization = args.length > 6 ? Quantization.parse(args[6]) : Quantization.NONE;
        try (ModelDirectory model = ModelDirectory.open(dir);
             DecoderSession plain = DecoderSession.open(new DecoderGraphCompiler(CompileOptions.builder()
                     .optMaxSequenceLength(maxLen).optLora(new LoraLayout(k + 1, 16, List.of()))
                     .optQuantization(quantization).build())
                     .compile(model), batch, threads);
             DecoderSession lora = DecoderSession.open(new DecoderGraphCompiler(CompileOptions.builder()
                     .optMaxSequenceLength(maxLen).optLora(LoraLayout.allLinear(k + 1, 16))
                     .optQuantization(quantization).build())
                     .compile(model), batch, threads)) {
            ModelConfig config = model.config();
            for (int s = 1; s <= k; s++) {
                TestModels.write(lora.loraPools(), s, "a" + s, RandomAdapters.of(config, 16, s));
            }
            int[] base = new int[batch];
            int[] mixed = new int[batch];
            for (int r = 0; r < batch; r++) {
                mixed[r] = k == 0 ? 0 : 1 + r % k;
            }
            int[] tokens = new int[batch];
            Arrays.fill(tokens, 7);
            long[][] nanos = new long[3][steps];
            for (int round = 0; round < 2; round++) {
                for (int step = 0; step < steps; step++) {
                    int[] past = new int[batch];
                    Arrays.fill(past, 32 + step);
                    long t0 = System.nanoTime();
                    plain.run(StepBatch.decode(tokens, past, base));
                    long t1 = System.nanoTime();
                    lora.run(StepBatch.decode(tokens, past, base));
                    long t2 = System.nanoTime();
                    lora.run(StepBatch.decode(tokens, past, mixed));
                    long t3 = System.nanoTime();
                    nanos[0][step] = t1 - t0;
                    nanos[1][step] = t2 - t1;
                    nanos[2][step] = t3 - t2;
                }
            }
            double plainMs = median(nanos[0]);
            double baseMs = median(nanos[1]);
            double mixedMs = median(nanos[2]);
            System.out.printf("%s %s batch %d, %d adapters, median ms/step: no LoRA graph %.2f, LoRA graph all-base %.2f,"
                    + " LoRA graph mixed %.2f; mixed/no-LoRA throughput %.3f, all-base/no-LoRA %.3f%n",
                    size.label(), quantization, batch, k, plainMs, baseMs, mixedMs, plainMs / mixedMs, plainMs / baseMs);
        }
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }
}
