package dev.quiver.serving.bench;

import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What drawing tokens costs the engine against greedy decoding, at the checkpoint's full vocabulary: the serve
 * benchmark's generated model has a 2,343-token tokenizer, so its engine samples from those only. This opens the
 * same checkpoint without its tokenizer (the engine then samples from every embedding row, 151936 for
 * qwen3-0.6b), runs {@code concurrency} requests of 32 prompt and {@code genLen} generated tokens at once,
 * greedy and at temperature 0.7 with top_p 0.9, alternating for 3 rounds, and prints output tok/s of each and
 * their ratio. Not a test: run by hand, {@code SampledDecodeBenchmark WORK_DIR qwen3-0.6b 2 int8 8 32}.
 */
public final class SampledDecodeBenchmark {
    private SampledDecodeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        Quantization quantization = Quantization.parse(args[3]);
        int concurrency = Integer.parseInt(args[4]);
        int genLen = Integer.parseInt(args[5]);
        Path model = ServeBenchmark.demoModel(work, size);
        Path untokenized = work.resolve(model.getFileName() + "-no-tokenizer");
        Files.createDirectories(untokenized);
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
            if (Files.exists(model.resolve(f)) && !Files.exists(untokenized.resolve(f))) {
                Files.createSymbolicLink(untokenized.resolve(f), model.resolve(f));
            }
        }
        EngineSettings settings = EngineSettings.builder().optMaxBatch(concurrency)
                .optMaxSequenceLength(32 + genLen + 1).optLoraSlots(1).optMaxLoraRank(16)
                .optQuantization(quantization).optThreads(threads).optGraphCacheDir(work.resolve("graph-cache"))
                .build();
        try (InferenceEngine engine = InferenceEngine.open(untokenized, settings)) {
            double[][] rates = new double[2][3];
            run(engine, concurrency, 8, false);
            run(engine, concurrency, 8, true);
            for (int round = 0; round < 3; round++) {
                rates[0][round] = run(engine, concurrency, genLen, false);
                rates[1][round] = run(engine, concurrency, genLen, true);
            }
            for (int round = 0; round < 3; round++) {
                System.out.printf("%s %s C=%d, round %d: greedy %.1f tok/s, temperature 0.7 + top_p 0.9 %.1f tok/s,"
                                + " sampled / greedy %.3f%n", size.label(), quantization, concurrency, round,
                        rates[0][round], rates[1][round], rates[1][round] / rates[0][round]);
            }
        }
    }

    // output tok/s of concurrency requests submitted at once
    private static double run(InferenceEngine engine, int concurrency, int genLen, boolean sampled) throws Exception {
        List<GenerationHandle> handles = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < concurrency; i++) {
            int[] prompt = new int[32];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = 3 + (i * 131 + t * 17) % 2000;
            }
            SamplingParams params = SamplingParams.builder().optTemperature(sampled ? 0.7 : 0)
                    .optTopP(sampled ? 0.9 : 1).optSeed(sampled ? (long) i : null).optMaxTokens(genLen)
                    .optIgnoreEos(true).build();
            handles.add(engine.submit(new GenerationRequest(prompt, null, params), GenerationListener.NONE));
        }
        long tokens = 0;
        for (GenerationHandle h : handles) {
            tokens += h.result().get().tokenIds().length;
        }
        return tokens / ((System.nanoTime() - t0) / 1e9);
    }
}
