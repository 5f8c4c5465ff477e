package dev.quiver.finetune.event;

import dev.quiver.finetune.ResolvedHyperparameters;
import java.nio.file.Path;
import java.time.Duration;

/** What a fine-tuning run reports while it runs, in order: started, steps, evals, checkpoints, completed. */
public sealed interface TrainingEvent {

    /**
     * Data is read and the plan is fixed.
     *
     * @param validation null when the run does not evaluate
     * @param startStep  steps already done: 0, or the checkpoint's step when resuming
     */
    record Started(ResolvedHyperparameters hyperparameters, DatasetSummary train, DatasetSummary validation,
                   int startStep, String device) implements TrainingEvent {
    }

    /** Something the user should know that does not stop the run, e.g. truncated examples. */
    record Warning(String message) implements TrainingEvent {
    }

    /**
     * One optimizer step is done ({@code step} counts from 1).
     *
     * @param loss          mean cross-entropy per target token of this step
     * @param tokenAccuracy fraction of this step's target tokens that were the argmax
     * @param gradNorm      global gradient norm before clipping
     * @param tokensPerSecond input tokens (padding excluded) per second of training in this process
     */
    record StepCompleted(int step, int totalSteps, int epoch, double loss, double tokenAccuracy, double learningRate,
                         double gradNorm, long tokensSeen, double tokensPerSecond, Duration eta)
            implements TrainingEvent {
    }

    /** The validation set was evaluated after {@code step} steps. */
    record EvalCompleted(int step, double loss, double tokenAccuracy, long targetTokens) implements TrainingEvent {
    }

    /** A checkpoint a stopped run can resume from is complete on disk. */
    record CheckpointSaved(int step, Path path) implements TrainingEvent {
    }

    /** The adapter and its training_metrics.json are written. */
    record Completed(Path adapterDir, int steps, double finalLoss, Duration wallTime) implements TrainingEvent {
    }
}
