package dev.quiver.serving.bench;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decode throughput of the engine on a generated model, at batch 1 and batch 8, base and mixed adapters.
 * Not a test: run by hand, e.g. {@code java -cp ... dev.quiver.serving.bench.DecodeBenchmark small qwen3 64}.
 */
public final class DecodeBenchmark {
    private DecodeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DemoSize size = DemoSize.parse(args.length > 0 ? args[0] : "tiny");
        ModelFamily family = ModelFamily.byModelType(args.length > 1 ? args[1] : "qwen3").orElseThrow();
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        Path root = Files.createTempDirectory("quiver-bench");
        try {
            benchmark(root.resolve("model"), size, family, tokens);
        } finally {
            try (var files = Files.walk(root)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void benchmark(Path dir, DemoSize size, ModelFamily family, int tokens) throws Exception {
        long t0 = System.nanoTime();
        DemoModelMaker.write(dir, new DemoModelMaker.Spec(family, size, 1, DType.F32));
        ModelConfig config = ModelConfig.load(dir);
        System.out.printf("model %s %s: %.1fM parameters, generated in %.1f s%n", family.modelType(), size.label(),
                config.parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        try (InferenceEngine engine = InferenceEngine.open(dir, EngineSettings.builder().optMaxBatch(8)
                .optMaxSequenceLength(Math.min(512, config.maxPositionEmbeddings())).optLoraSlots(4)
                .optMaxLoraRank(16).build())) {
            System.out.printf("compiled and opened in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            engine.adapters().register("a", TestModels.randomAdapter(config, 16, 1));
            engine.adapters().register("b", TestModels.randomAdapter(config, 8, 2));
            run(engine, 1, tokens, false); // warm-up
            for (int batch : new int[] {1, 8}) {
                for (boolean adapters : new boolean[] {false, true}) {
                    run(engine, batch, tokens, adapters);
                }
            }
        }
    }

    private static void run(InferenceEngine engine, int batch, int tokens, boolean adapters) throws Exception {
        SamplingParams params = SamplingParams.builder().optTemperature(0).optMaxTokens(tokens).optIgnoreEos(true)
                .build();
        AtomicLong first = new AtomicLong(Long.MAX_VALUE);
        AtomicLong last = new AtomicLong();
        AtomicLong count = new AtomicLong();
        List<GenerationHandle> handles = new ArrayList<>();
        long stepsBefore = engine.stats().decodeSteps();
        for (int i = 0; i < batch; i++) {
            int[] prompt = new int[16];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = 10 + 37 * i + j;
            }
            String adapter = !adapters ? null : i % 3 == 0 ? null : i % 3 == 1 ? "a" : "b";
            handles.add(engine.submit(new GenerationRequest(prompt, adapter, params), new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    long now = System.nanoTime();
                    first.accumulateAndGet(now, Math::min);
                    last.accumulateAndGet(now, Math::max);
                    count.incrementAndGet();
                }
            }));
        }
        for (GenerationHandle h : handles) {
            h.result().get();
        }
        // the first token of each sequence comes from its prefill; count decode tokens only
        double seconds = (last.get() - first.get()) / 1e9;
        long decoded = count.get() - batch;
        System.out.printf("batch %d %-13s decode %5.0f tokens/s (%d tokens, %d steps, %.2f s)%n", batch,
                adapters ? "mixed-adapter" : "base", decoded / seconds, decoded,
                engine.stats().decodeSteps() - stepsBefore, seconds);
    }
}
