package dev.quiver.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the fine-tuning API (OpenAI's, where OpenAI has them). */
public final class JobViews {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobViews() {
    }

    /** Stored JSON as a value for a view; text that does not parse is shown as it is. */
    static Object parse(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JSON.readValue(json, Object.class);
        } catch (Exception e) {
            return json;
        }
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

    /**
     * OpenAI's {@code fine_tuning.job} object, plus {@code task} and {@code best_checkpoint}: for a job of a task with
     * a held-out file, the checkpoint (or final adapter) that scored best there, once its checkpoints are evaluated.
     */
    @Serdeable
    public record Job(String id, String object, String model, long createdAt, @Nullable Long finishedAt,
                      @Nullable String fineTunedModel, String organizationId, List<String> resultFiles,
                      String status, @Nullable String validationFile, String trainingFile,
                      Map<String, Object> hyperparameters, @Nullable Long trainedTokens, @Nullable JobError error,
                      long seed, @Nullable String suffix, @Nullable String task, @Nullable Object bestCheckpoint) {

        static Job of(FineTuningJob j) {
            return new Job(j.getId(), "fine_tuning.job", j.getModel(), j.getCreatedAt().getEpochSecond(),
                    j.getFinishedAt() == null ? null : j.getFinishedAt().getEpochSecond(), j.getFineTunedModel(),
                    j.getProjectId(), List.of(), j.getStatus().wireName(), j.getValidationFile(),
                    j.getTrainingFile(), Hyperparameters.parse(j.getHyperparameters()), j.getTrainedTokens(),
                    j.getErrorCode() == null ? null : new JobError(j.getErrorCode(), j.getErrorMessage(), null),
                    j.getSeed(), j.getSuffix(), j.getTask(), parse(j.getBestCheckpoint()));
        }
    }

    /**
     * OpenAI's {@code fine_tuning.job.event} object, plus {@code seq}: the runner's sequence number of the events it
     * reported (contiguous across attempts), null on the control plane's own.
     */
    @Serdeable
    public record Event(String id, String object, long createdAt, String level, String message, String type,
                        @Nullable Object data, @Nullable Long seq) {

        static Event of(JobEvent e) {
            return new Event("ftevent-" + e.getId(), "fine_tuning.job.event", e.getCreatedAt().getEpochSecond(),
                    e.getLevel(), e.getMessage(), e.getType(), parse(e.getData()), e.getSeq());
        }
    }

    /**
     * OpenAI's {@code fine_tuning.job.checkpoint} object; {@code fine_tuned_model_checkpoint} and the {@code eval}
     * entry of {@code metrics} once the checkpoint was evaluated on its job's held-out file.
     */
    @Serdeable
    public record Checkpoint(String id, String object, long createdAt, @Nullable String fineTunedModelCheckpoint,
                             String fineTuningJobId, int stepNumber, @Nullable Object metrics) {

        static Checkpoint of(JobCheckpoint c) {
            return new Checkpoint(c.getId(), "fine_tuning.job.checkpoint", c.getCreatedAt().getEpochSecond(),
                    c.getFineTunedModelCheckpoint(), c.getJobId(), c.getStep(), parse(c.getMetrics()));
        }
    }
}
