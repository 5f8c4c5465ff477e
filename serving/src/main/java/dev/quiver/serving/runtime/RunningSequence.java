package dev.quiver.serving.runtime;

import dev.quiver.serving.constraint.ConstraintState;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A started request on the engine thread: its KV row, adapter slot, cached length and output so far. */
final class RunningSequence {
    final QueuedRequest source;
    final int slot;
    final SplittableRandom rng;
    final TextAssembler text;
    /** Null for an unconstrained sequence, which then pays nothing for constraints. */
    final ConstraintState constraint;
    final List<Integer> generated = new ArrayList<>();
    final List<GeneratedToken> tokens = new ArrayList<>();
    int row;
    int length;
    int lastToken;
    FinishReason finished;

    RunningSequence(QueuedRequest source, int row, int slot, TextAssembler text) {
        this.source = source;
        this.row = row;
        this.slot = slot;
        this.text = text;
        this.constraint = source.request.constraint() == null ? null : source.request.constraint().start();
        Long seed = source.request.params().seed();
        this.rng = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
    }

    SamplingParams params() {
        return source.request.params();
    }

    int[] prompt() {
        return source.request.promptTokens();
    }

    boolean isCancelled() {
        return source.handle.isCancelled();
    }
}
