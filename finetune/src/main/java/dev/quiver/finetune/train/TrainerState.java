package dev.quiver.finetune.train;

import dev.quiver.finetune.EvalMetrics;
import dev.quiver.finetune.StepMetrics;
import java.util.List;

/**
 * Where a run stands after {@code completedSteps} steps, saved with each checkpoint. With the seed the
 * step number fixes the data position, the learning rate and the dropout masks of every later step.
 *
 * @param fingerprint identifies the run (settings, data, base model) so that a checkpoint only resumes its own run
 */
public record TrainerState(
        int completedSteps,
        String fingerprint,
        long tokensSeen,
        long targetTokensSeen,
        double trainSeconds,
        double wallSeconds,
        List<StepMetrics> lossCurve,
        List<EvalMetrics> evals) {

    public TrainerState {
        lossCurve = List.copyOf(lossCurve);
        evals = List.copyOf(evals);
    }

    static TrainerState fresh(String fingerprint) {
        return new TrainerState(0, fingerprint, 0, 0, 0, 0, List.of(), List.of());
    }
}
