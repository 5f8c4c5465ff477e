package dev.quiver.serving.bench;

import dev.quiver.serving.runtime.Sampler;
import dev.quiver.serving.runtime.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * What picking one token costs on the engine thread, per row and step, at a vocabulary's size: greedy,
 * temperature, top-k and top-p over Gaussian logits (standard deviation 2, and 5 for a peaked distribution).
 * Not a test: run by hand, {@code java -cp ... dev.quiver.serving.bench.SamplerBenchmark [VOCAB [ROUNDS]]}
 * (default 151936, Qwen3's, and 400); prints the median microseconds per call.
 */
public final class SamplerBenchmark {
    private SamplerBenchmark() {
    }

    public static void main(String[] args) {
        int vocab = args.length > 0 ? Integer.parseInt(args[0]) : 151_936;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        Sampler sampler = new Sampler();
        SplittableRandom rng = new SplittableRandom(7);
        SamplingParams[] params = {
            SamplingParams.greedy(16),
            SamplingParams.builder().optTemperature(1.0).build(),
            SamplingParams.builder().optTemperature(0.7).optTopP(0.9).build(),
            SamplingParams.builder().optTemperature(1.0).optTopP(0.95).build(),
            SamplingParams.builder().optTemperature(0.7).optTopK(40).build(),
            SamplingParams.builder().optTemperature(0).optLogprobs(true).optTopLogprobs(5).build(),
        };
        String[] names = {"greedy", "temperature 1", "temperature 0.7, top_p 0.9", "temperature 1, top_p 0.95",
            "temperature 0.7, top_k 40", "greedy, logprobs + 5 top"};
        for (double spread : new double[] {2, 5}) {
            float[][] rows = new float[8][vocab];
            for (float[] row : rows) {
                for (int i = 0; i < vocab; i++) {
                    row[i] = (float) (rng.nextGaussian() * spread);
                }
            }
            for (int p = 0; p < params.length; p++) {
                long[] nanos = new long[rounds];
                int sink = 0;
                for (int i = 0; i < rounds; i++) {
                    long t0 = System.nanoTime();
                    sink += sampler.sample(rows[i % rows.length], params[p], rng).tokenId();
                    nanos[i] = System.nanoTime() - t0;
                }
                Arrays.sort(nanos);
                System.out.printf("vocab %d, logit sd %.0f, %-28s %8.1f us (median of %d; %d)%n", vocab, spread,
                        names[p], nanos[rounds / 2] / 1e3, rounds, sink % 2);
            }
        }
    }
}
