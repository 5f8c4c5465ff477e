package dev.quiver.finetune.train;

import java.time.Duration;

/**
 * When the trainer checkpoints: every {@code steps} steps and whenever {@code every} has passed since the last
 * checkpoint (or the start), whichever comes first; zero turns either off. The time rule is what gives a short
 * job, which never reaches the step interval, something to resume from.
 */
public record CheckpointSchedule(int steps, Duration every) {
    /** Never checkpoints. */
    public static final CheckpointSchedule NONE = new CheckpointSchedule(0, Duration.ZERO);

    public CheckpointSchedule {
        every = every == null ? Duration.ZERO : every;
        if (steps < 0 || every.isNegative()) {
            throw new IllegalArgumentException("checkpoint intervals must not be negative, got " + steps
                    + " steps and " + every);
        }
    }

    /** Whether this schedule ever checkpoints. */
    public boolean enabled() {
        return steps > 0 || !every.isZero();
    }

    /** Whether to checkpoint after {@code done} steps, {@code sinceLast} after the previous checkpoint. */
    boolean due(int done, Duration sinceLast) {
        return (steps > 0 && done % steps == 0) || (!every.isZero() && sinceLast.compareTo(every) >= 0);
    }
}
