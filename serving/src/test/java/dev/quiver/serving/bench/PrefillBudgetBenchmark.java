package dev.quiver.serving.bench;

import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.EngineStats;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What the prefill budget does to a running sequence: one sequence decodes while {@code prompts} long prompts
 * arrive one after another; prints the running sequence's inter-token latency during their prefill and the long
 * prompts' time to first token, for the old token cap (128 per step, whatever the time) and for the time budget
 * (cap 512 and each budget in ms, per step while decoding), one engine after the other in one process. Not a
 * test: {@code java -cp ... dev.quiver.serving.bench.PrefillBudgetBenchmark WORK_DIR small 1 512 6 200 300}
 * (work dir, size, threads, prompt length, prompts, budgets).
 */
public final class PrefillBudgetBenchmark {
    private PrefillBudgetBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        int promptLen = Integer.parseInt(args[3]);
        int prompts = Integer.parseInt(args[4]);
        Path dir = ServeBenchmark.demoModel(work, size);
        run("token cap 128", dir, threads, 128, Duration.ofHours(1), promptLen, prompts);
        for (int i = 5; i < args.length; i++) {
            Duration budget = Duration.ofMillis(Long.parseLong(args[i]));
            run("budget " + budget.toMillis() + " ms, cap 512", dir, threads, 512, budget, promptLen, prompts);
        }
    }

    private static void run(String label, Path dir, int threads, int cap, Duration budget,
                            int promptLen, int prompts) throws Exception {
        EngineSettings settings = EngineSettings.builder().optMaxBatch(2).optMaxSequenceLength(promptLen + 1024)
                .optLoraSlots(1).optMaxLoraRank(16).optThreads(threads).optPrefillChunkTokens(cap)
                .optPrefillBudget(budget).build();
        try (InferenceEngine engine = InferenceEngine.open(dir, settings)) {
            int vocab = Math.min(ModelConfig.load(dir).vocabSize(), 2000);
            SamplingParams forever = SamplingParams.builder().optTemperature(0).optMaxTokens(1000)
                    .optIgnoreEos(true).build();
            SamplingParams one = SamplingParams.builder().optTemperature(0).optMaxTokens(1).optIgnoreEos(true)
                    .build();
            // warm-up: every chunk shape the run will see
            engine.generate(ServeWorkload.prompt(0, promptLen, vocab), null, one);
            List<Long> times = new ArrayList<>();
            CompletableFuture<Void> started = new CompletableFuture<>();
            GenerationHandle running = engine.submit(new GenerationRequest(ServeWorkload.prompt(1, 8, vocab), null,
                    forever), new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    synchronized (times) {
                        times.add(System.nanoTime());
                    }
                    if (times.size() == 4) {
                        started.complete(null);
                    }
                }
            });
            started.get(60, TimeUnit.SECONDS);
            EngineStats before = engine.stats();
            long[] ttft = new long[prompts];
            long from = System.nanoTime();
            for (int i = 0; i < prompts; i++) {
                long t0 = System.nanoTime();
                engine.generate(ServeWorkload.prompt(10 + i, promptLen, vocab), null, one);
                ttft[i] = System.nanoTime() - t0;
            }
            long to = System.nanoTime();
            EngineStats after = engine.stats();
            running.cancel();
            running.result().get(60, TimeUnit.SECONDS);
            List<Long> gaps = new ArrayList<>();
            synchronized (times) {
                for (int i = 1; i < times.size(); i++) {
                    if (times.get(i) > from && times.get(i) <= to) {
                        gaps.add(times.get(i) - times.get(i - 1));
                    }
                }
            }
            LatencyStats itl = LatencyStats.ofNanos(gaps.stream().mapToLong(Long::longValue).toArray());
            LatencyStats first = LatencyStats.ofNanos(ttft);
            long chunks = after.prefillChunks() - before.prefillChunks();
            long tokens = after.prefillTokens() - before.prefillTokens();
            System.out.printf("%s, %s, %d threads, %d prompts of %d: running sequence ITL p50 %.1f ms p99 %.1f ms"
                            + " (%d tokens); long prompts TTFT p50 %.0f ms; %d chunks of %.1f tokens, prefill %.1f"
                            + " tok/s%n", dir.getFileName(), label, threads, prompts,
                    promptLen, itl.percentile(50), itl.percentile(99), gaps.size(), first.percentile(50), chunks,
                    tokens / (double) chunks, tokens * 1e9 / (after.prefillNanos() - before.prefillNanos()));
        }
    }
}
