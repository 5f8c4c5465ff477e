package dev.quiver.jobs;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the fine-tuning API (OpenAI's, where OpenAI has them). */
public final class JobViews {
    private JobViews() {
    }

    /** {@code POST /v1/fine_tuning/jobs} body. */
    @Serdeable
    public record CreateJob(String model, String trainingFile, @Nullable String validationFile,
                            @Nullable String suffix, @Nullable Long seed, @Nullable String task,
                            @Nullable Map<String, Object> hyperparameters) {
    }

    /** The error of a failed job. */
    @Serdeable
    public record JobError(String code, String message, @Nullable String param) {
    }

    /** OpenAI's {@code fine_tuning.job} object. */
    @Serdeable
    public record Job(String id, String object, String model, long createdAt, @Nullable Long finishedAt,
                      @Nullable String fineTunedModel, String organizationId, List<String> resultFiles,
                      String status, @Nullable String validationFile, String trainingFile,
                      Map<String, Object> hyperparameters, @Nullable Long trainedTokens, @Nullable JobError error,
                      long seed, @Nullable String suffix, @Nullable String task) {

        static Job of(FineTuningJob j) {
            return new Job(j.getId(), "fine_tuning.job", j.getModel(), j.getCreatedAt().getEpochSecond(),
                    j.getFinishedAt() == null ? null : j.getFinishedAt().getEpochSecond(), j.getFineTunedModel(),
                    j.getProjectId(), List.of(), j.getStatus().wireName(), j.getValidationFile(),
                    j.getTrainingFile(), Hyperparameters.parse(j.getHyperparameters()), j.getTrainedTokens(),
                    j.getErrorCode() == null ? null : new JobError(j.getErrorCode(), j.getErrorMessage(), null),
                    j.getSeed(), j.getSuffix(), j.getTask());
        }
    }

    /**
     * OpenAI's {@code fine_tuning.job.event} object, plus {@code seq}: the runner's sequence number of the events it
     * reported (contiguous across attempts), null on the control plane's own.
     */
    @Serdeable
    public record Event(String id, String object, long createdAt, String level, String message, String type,
                        @Nullable Object data, @Nullable Long seq) {

        static Event of(JobEvent e, Object data) {
            return new Event("ftevent-" + e.getId(), "fine_tuning.job.event", e.getCreatedAt().getEpochSecond(),
                    e.getLevel(), e.getMessage(), e.getType(), data, e.getSeq());
        }
    }

    /** OpenAI's {@code fine_tuning.job.checkpoint} object. */
    @Serdeable
    public record Checkpoint(String id, String object, long createdAt, String fineTuningJobId, int stepNumber,
                             @Nullable Object metrics) {
    }
}
