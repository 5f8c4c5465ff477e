package dev.quiver.capture;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Decides which calls fall in an upstream's sample: a uniform draw below its {@code sample_rate}. With
 * {@code quiver.capture.sampling-seed} the draws come from one seeded sequence, so a run captures the same calls
 * again (tests, reproducible captures); without, from a per-thread random source.
 */
@Singleton
public class CaptureSampler {
    @Nullable
    private final SplittableRandom seeded;

    public CaptureSampler(@Nullable @Value("${quiver.capture.sampling-seed}") Long seed) {
        this.seeded = seed == null ? null : new SplittableRandom(seed);
    }

    /** Whether a call of the task with this upstream is captured (capture on, and within the sample). */
    public boolean sampled(Upstream upstream) {
        return upstream.isCapture() && draw() < upstream.getSampleRate();
    }

    private double draw() {
        if (seeded == null) {
            return ThreadLocalRandom.current().nextDouble();
        }
        synchronized (seeded) {
            return seeded.nextDouble();
        }
    }
}
