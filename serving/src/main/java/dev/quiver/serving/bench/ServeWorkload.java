package dev.quiver.serving.bench;

import dev.quiver.serving.constraint.TokenConstraint;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.EngineStats;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One benchmark phase: {@code requests} greedy generations of {@code genLen} tokens from random
 * {@code promptLen}-token prompts, at most {@code concurrency} in flight (a closed loop: each completion
 * submits the next request), request {@code i} on adapter {@code i mod K} (or the base when there are none),
 * every one under {@code constraint} when it is not null (a constrained request ends once its value does).
 * Every token is timestamped as the engine streams it.
 */
final class ServeWorkload {
    private ServeWorkload() {
    }

    /** What one phase (or several, {@link #plus}) measured; engine counters give the prefill and decode time. */
    record Result(int requests, long outputTokens, long wallNanos, long[] ttftNanos, long[] itlNanos,
                  long prefillTokens, long prefillNanos, long decodeTokens, long decodeSteps, long decodeNanos) {

        /** Both phases' measurements together, as if they had run as one. */
        Result plus(Result o) {
            return new Result(requests + o.requests, outputTokens + o.outputTokens, wallNanos + o.wallNanos,
                    concat(ttftNanos, o.ttftNanos), concat(itlNanos, o.itlNanos), prefillTokens + o.prefillTokens,
                    prefillNanos + o.prefillNanos, decodeTokens + o.decodeTokens, decodeSteps + o.decodeSteps,
                    decodeNanos + o.decodeNanos);
        }

        /** Prompt tokens per second of prefill compute. */
        double prefillTokensPerSecond() {
            return prefillTokens * 1e9 / prefillNanos;
        }

        /** Tokens per second of decode compute (every sequence of every batched decode step). */
        double decodeTokensPerSecond() {
            return decodeTokens * 1e9 / decodeNanos;
        }

        /** Decode steps per second of decode compute: each reads every base weight once, whatever the batch. */
        double decodeStepsPerSecond() {
            return decodeSteps * 1e9 / decodeNanos;
        }

        /** Generated tokens per second of wall time: what the clients saw. */
        double outputTokensPerSecond() {
            return outputTokens * 1e9 / wallNanos;
        }

        JsonLine json() {
            LatencyStats ttft = LatencyStats.ofNanos(ttftNanos);
            LatencyStats itl = LatencyStats.ofNanos(itlNanos);
            return new JsonLine()
                    .put("requests", requests)
                    .put("prefill_tok_s", prefillTokensPerSecond(), 1)
                    .put("decode_tok_s", decodeTokensPerSecond(), 1)
                    .put("output_tok_s", outputTokensPerSecond(), 1)
                    .put("ttft_ms_p50", ttft.percentile(50), 1)
                    .put("ttft_ms_p99", ttft.percentile(99), 1)
                    .put("itl_ms_p50", itl.percentile(50), 2)
                    .put("itl_ms_p99", itl.percentile(99), 2)
                    .put("wall_s", wallNanos / 1e9, 2);
        }

        private static long[] concat(long[] a, long[] b) {
            long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, out, a.length, b.length);
            return out;
        }
    }

    static Result run(InferenceEngine engine, List<String> adapters, int requests, int concurrency, int promptLen,
                      int genLen, int vocab) throws IOException {
        return run(engine, adapters, requests, concurrency, promptLen, genLen, vocab, null);
    }

    static Result run(InferenceEngine engine, List<String> adapters, int requests, int concurrency, int promptLen,
                      int genLen, int vocab, TokenConstraint constraint) throws IOException {
        SamplingParams params = SamplingParams.builder().optTemperature(0).optMaxTokens(genLen).optIgnoreEos(true)
                .build();
        long[] submitted = new long[requests];
        long[][] tokenTimes = new long[requests][genLen];
        int[] tokenCounts = new int[requests];
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(requests);
        long[] lastCompletion = new long[1];
        EngineStats before = engine.stats();

        Runnable[] submitNext = new Runnable[1];
        submitNext[0] = () -> {
            int i = next.getAndIncrement();
            if (i >= requests) {
                return;
            }
            String adapter = adapters.isEmpty() ? null : adapters.get(i % adapters.size());
            submitted[i] = System.nanoTime();
            engine.submit(new GenerationRequest(prompt(i, promptLen, vocab), adapter, params, constraint),
                    new GenerationListener() {
                        @Override
                        public void onToken(GeneratedToken token) {
                            if (tokenCounts[i] < genLen) {
                                tokenTimes[i][tokenCounts[i]++] = System.nanoTime();
                            }
                        }

                        @Override
                        public void onComplete(Completion completion) {
                            lastCompletion[0] = System.nanoTime();
                            done.countDown();
                            submitNext[0].run();
                        }

                        @Override
                        public void onError(Throwable error) {
                            failure.compareAndSet(null, error);
                            done.countDown();
                            submitNext[0].run();
                        }
                    });
        };
        long start = System.nanoTime();
        for (int c = 0; c < Math.min(concurrency, requests); c++) {
            submitNext[0].run();
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while benchmarking", e);
        }
        if (failure.get() != null) {
            throw new IOException("a benchmark request failed: " + failure.get().getMessage(), failure.get());
        }
        EngineStats after = engine.stats();

        long[] ttft = new long[requests];
        long outputTokens = 0;
        int gaps = 0;
        for (int i = 0; i < requests; i++) {
            ttft[i] = tokenTimes[i][0] - submitted[i];
            outputTokens += tokenCounts[i];
            gaps += Math.max(0, tokenCounts[i] - 1);
        }
        long[] itl = new long[gaps];
        int g = 0;
        for (int i = 0; i < requests; i++) {
            for (int t = 1; t < tokenCounts[i]; t++) {
                itl[g++] = tokenTimes[i][t] - tokenTimes[i][t - 1];
            }
        }
        return new Result(requests, outputTokens, lastCompletion[0] - start, ttft, itl,
                after.prefillTokens() - before.prefillTokens(), after.prefillNanos() - before.prefillNanos(),
                after.decodeTokens() - before.decodeTokens(), after.decodeSteps() - before.decodeSteps(),
                after.decodeNanos() - before.decodeNanos());
    }

    /** The same seeded prompt for request {@code i} in every phase, so base and adapter phases do equal work. */
    static int[] prompt(int i, int length, int vocab) {
        return new SplittableRandom(1000L + i).ints(length, 3, vocab).toArray();
    }
}
