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
}
