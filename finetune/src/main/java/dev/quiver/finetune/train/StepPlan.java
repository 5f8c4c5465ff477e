package dev.quiver.finetune.train;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which training examples each optimizer step sees: every epoch is a fresh seeded shuffle cut into
 * batches, the last one possibly smaller. A step's examples depend only on the seed and the step
 * number, which is what lets a resumed run pick up exactly where a stopped one left off.
 */
final class StepPlan {
    private final int examples;
    private final int batchSize;
    private final int epochs;
    private final long seed;
    private int cachedEpoch = -1;
    private int[] cachedOrder;

    StepPlan(int examples, int batchSize, int epochs, long seed) {
        this.examples = examples;
        this.batchSize = batchSize;
        this.epochs = epochs;
        this.seed = seed;
    }

    int stepsPerEpoch() {
        return (examples + batchSize - 1) / batchSize;
    }

    int totalSteps() {
        return epochs * stepsPerEpoch();
    }

    /** 0-based epoch of step {@code step} (0-based). */
    int epochOf(int step) {
        return step / stepsPerEpoch();
    }

    /** Indices of the examples of step {@code step} (0-based). */
    List<Integer> examplesOf(int step) {
        int[] order = order(epochOf(step));
        int from = (step % stepsPerEpoch()) * batchSize;
        int to = Math.min(from + batchSize, examples);
        List<Integer> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            out.add(order[i]);
        }
        return out;
    }

    private int[] order(int epoch) {
        if (epoch != cachedEpoch) {
            int[] order = new int[examples];
            for (int i = 0; i < examples; i++) {
                order[i] = i;
            }
            SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = examples - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            cachedOrder = order;
            cachedEpoch = epoch;
        }
        return cachedOrder;
    }
}
