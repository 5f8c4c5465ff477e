package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private final Sampler sampler = new Sampler();
    private final float[] logits = {1.0f, 3.0f, 2.5f, -1.0f, 0.5f, 2.9f};

    @Test
    void greedyPicksTheLargestLogitEveryTime() {
        SamplingParams greedy = SamplingParams.greedy(4);
        for (long seed = 0; seed < 5; seed++) {
            assertThat(sampler.sample(logits, greedy, new SplittableRandom(seed)).tokenId()).isEqualTo(1);
        }
    }

    @Test
    void theSameSeedDrawsTheSameTokens() {
        SamplingParams p = SamplingParams.builder().optTemperature(1.5).build();
        SplittableRandom r1 = new SplittableRandom(42);
        SplittableRandom r2 = new SplittableRandom(42);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            int a = sampler.sample(logits, p, r1).tokenId();
            assertThat(sampler.sample(logits, p, r2).tokenId()).isEqualTo(a);
            seen.add(a);
        }
        assertThat(seen).as("temperature sampling explores").hasSizeGreaterThan(2);
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        SamplingParams p = SamplingParams.builder().optTemperature(5).optTopK(2).build();
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < 200; i++) {
            assertThat(sampler.sample(logits, p, rng).tokenId()).isIn(1, 5);
        }
    }

    @Test
    void topPKeepsTheSmallestNucleus() {
        // probabilities at T=1: token 1 ~0.36, 5 ~0.33, 2 ~0.22: top_p 0.6 keeps {1, 5}
        SamplingParams p = SamplingParams.builder().optTopP(0.6).build();
        SplittableRandom rng = new SplittableRandom(3);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            seen.add(sampler.sample(logits, p, rng).tokenId());
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 5);
    }

    @Test
    void logprobsComeFromTheRawDistribution() {
        SamplingParams p = SamplingParams.builder().optTemperature(0).optTopLogprobs(3).build();
        SampledToken t = sampler.sample(logits, p, new SplittableRandom(0));
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l);
        }
        assertThat(t.logprob()).isCloseTo(3.0 - Math.log(z), within(1e-6));
        assertThat(t.topLogprobs()).extracting(TokenLogprob::tokenId).containsExactly(1, 5, 2);
        assertThat(t.topLogprobs().get(2).logprob()).isCloseTo(2.5 - Math.log(z), within(1e-6));
    }

    @Test
    void largestBreaksTiesByLowerId() {
        assertThat(Sampler.largest(new float[] {1, 2, 2, 0, 2}, 2)).containsExactly(1, 2);
    }

    @Test
    void theNucleusIsTheFullSortsPrefixAtAVocabularysSize() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int round = 0; round < 40; round++) {
            int n = 1 + rng.nextInt(20_000);
            double spread = 0.01 + rng.nextDouble() * 6;
            double topP = round % 10 == 0 ? 1e-9 : rng.nextDouble();
            double[] weights = new double[n];
            double total = 0;
            for (int i = 0; i < n; i++) {
                // ties too: a coarse grid of logits repeats probabilities
                double logit = round % 3 == 0 ? Math.rint(rng.nextGaussian() * 4) : rng.nextGaussian() * spread;
                weights[i] = Math.exp(logit);
                total += weights[i];
            }
            boolean[] expected = referenceNucleus(weights, total, topP);
            double[] p = weights.clone();
            double kept = sampler.keepNucleus(p, n, total, topP);
            double expectedMass = 0;
            for (int i = 0; i < n; i++) {
                assertThat(p[i]).as("round %d, token %d of %d, top_p %f", round, i, n, topP)
                        .isEqualTo(expected[i] ? weights[i] : 0);
                expectedMass += expected[i] ? weights[i] : 0;
            }
            assertThat(kept).isCloseTo(expectedMass, within(1e-9 * total));
        }
    }

    // by (probability as a float, id) descending, the shortest prefix whose mass reaches topP
    private static boolean[] referenceNucleus(double[] weights, double total, double topP) {
        int n = weights.length;
        long[] keyed = new long[n];
        for (int i = 0; i < n; i++) {
            keyed[i] = ((long) Float.floatToIntBits((float) (weights[i] / total)) << 32) | i;
        }
        java.util.Arrays.sort(keyed);
        boolean[] keep = new boolean[n];
        double mass = 0;
        for (int j = n - 1; j >= 0 && mass < topP * total; j--) {
            keep[(int) keyed[j]] = true;
            mass += weights[(int) keyed[j]];
        }
        return keep;
    }

    @Test
    void aDrawWithoutAFiniteDistributionTakesTheLargestLogit() {
        SplittableRandom rng = new SplittableRandom(5);
        SamplingParams nucleus = SamplingParams.builder().optTemperature(0.7).optTopP(0.9).build();
        float inf = Float.POSITIVE_INFINITY;
        assertThat(sampler.sample(new float[] {1, inf, 2}, nucleus, rng).tokenId()).isEqualTo(1);
        assertThat(sampler.sample(new float[] {-inf, -inf, -inf}, nucleus, rng).tokenId()).isEqualTo(0);
        SamplingParams frozen = SamplingParams.builder().optTemperature(1e-310).optTopP(0.5).optTopK(2).build();
        assertThat(sampler.sample(logits, frozen, rng).tokenId()).isEqualTo(1);
    }
}
