package dev.quiver.finetune;

import java.nio.file.Path;

/** A run stopped by {@link FineTune#cancel()} before it finished; no adapter was written. */
public class TrainingCancelledException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int completedSteps;
    private final transient Path lastCheckpoint;

    public TrainingCancelledException(int completedSteps, Path lastCheckpoint) {
        super("training was cancelled after " + completedSteps + " steps"
                + (lastCheckpoint == null ? "" : "; resume from " + lastCheckpoint));
        this.completedSteps = completedSteps;
        this.lastCheckpoint = lastCheckpoint;
    }

    public int completedSteps() {
        return completedSteps;
    }

    /** The newest checkpoint of the run, or null if it has none. */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }
}
