package dev.quiver.finetune;

import dev.quiver.finetune.event.DatasetSummary;
import java.util.List;

/**
 * What {@code training_metrics.json} records about a finished run. Counts and times cover all of its
 * processes when it was resumed; tokens per second is that of the last process.
 *
 * @param validation null when the run did not evaluate
 * @param finalEval  the evaluation after the last step, or null without validation data
 * @param resumedFromStep the checkpoint step the last process started from, 0 if it started fresh
 */
public record TrainingMetrics(
        String baseModel,
        String device,
        long seed,
        ResolvedHyperparameters hyperparameters,
        DatasetSummary train,
        DatasetSummary validation,
        int steps,
        List<StepMetrics> lossCurve,
        List<EvalMetrics> evals,
        EvalMetrics finalEval,
        double finalTrainLoss,
        long tokensSeen,
        long targetTokensSeen,
        double tokensPerSecond,
        double trainSeconds,
        double wallTimeSeconds,
        int resumedFromStep) {

    public TrainingMetrics {
        lossCurve = List.copyOf(lossCurve);
        evals = List.copyOf(evals);
    }
}
