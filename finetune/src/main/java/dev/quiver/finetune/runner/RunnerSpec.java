package dev.quiver.finetune.runner;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.util.List;

/**
 * Everything a runner needs to train one attempt of a job: what the control plane answers on
 * {@code GET /v1/internal/jobs/{id}/spec} and {@code quiver train} reads, the one type both sides share.
 * The wire names are snake_case (the control plane's serde naming, {@link #fromJson} here). The records carry no
 * Jackson annotations on purpose: Micronaut's serde processor would turn them into bean introspections, which
 * this module, free of Micronaut, could not compile.
 *
 * @param attempt        the attempt number, so each attempt writes its adapter to its own directory
 * @param baseModelPath  the base model directory as the runner sees it (shared volume)
 * @param resumeStep     the step of the newest uploaded checkpoint to resume from; null to start afresh
 * @param nextEventSeq   the sequence number of this attempt's first event (numbers continue across attempts);
 *                       null from an older control plane, read as 1
 */
public record RunnerSpec(String jobId, int attempt, String baseModelPath, String baseModelName, String trainingFile,
                         String validationFile, Hyperparameters hyperparameters, long seed, Integer resumeStep,
                         Long nextEventSeq) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            // a newer control plane may add fields an older runner image does not know yet
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public RunnerSpec {
        hyperparameters = hyperparameters == null ? Hyperparameters.auto() : hyperparameters;
        nextEventSeq = nextEventSeq == null ? 1L : nextEventSeq;
    }

    /** Reads the spec as the control plane sends it. */
    public static RunnerSpec fromJson(String json) throws IOException {
        return JSON.readValue(json, RunnerSpec.class);
    }

    /**
     * The job's requested hyperparameters as the jobs API validated them; null is {@code auto} (the trainer
     * chooses). {@code targetModules} is already resolved to module names ({@code all-linear} expanded).
     */
    public record Hyperparameters(Integer nEpochs, Integer batchSize, Double learningRate, Integer loraRank,
                                  Double loraAlpha, List<String> targetModules) {

        /** Every hyperparameter on auto. */
        public static Hyperparameters auto() {
            return new Hyperparameters(null, null, null, null, null, null);
        }

        /** The trainer's hyperparameters: the requested values, the trainer's defaults for the rest. */
        public dev.quiver.finetune.Hyperparameters toTrainer() {
            dev.quiver.finetune.Hyperparameters.Builder b = dev.quiver.finetune.Hyperparameters.builder()
                    .optEpochs(nEpochs).optBatchSize(batchSize).optLearningRate(learningRate);
            if (loraRank != null) {
                b.optLoraRank(loraRank);
            }
            if (loraAlpha != null) {
                b.optLoraAlpha(loraAlpha);
            }
            if (targetModules != null) {
                b.optTargetModules(targetModules);
            }
            return b.build();
        }
    }
}
