package dev.quiver.jobs;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;

/** A persisted fine-tuning job; its status only moves forward (see {@link JobService}). */
@Entity
@Table(name = "fine_tuning_jobs")
public class FineTuningJob {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String model;
    @Column(name = "training_file")
    private String trainingFile;
    @Column(name = "validation_file")
    private String validationFile;
    private String suffix;
    private long seed;
    private String task;
    /** Requested hyperparameters as JSON; values are numbers, lists or "auto". */
    private String hyperparameters;
    @Enumerated(EnumType.STRING)
    private JobStatus status;
    @Column(name = "error_code")
    private String errorCode;
    @Column(name = "error_message")
    private String errorMessage;
    @Column(name = "fine_tuned_model")
    private String fineTunedModel;
    @Column(name = "trained_tokens")
    private Long trainedTokens;
    private int attempt;
    @Column(name = "launcher_ref")
    private String launcherRef;
    @Column(name = "runner_token_hash")
    private String runnerTokenHash;
    /** JSON: the best checkpoint on the job's held-out file; written only by {@link JobRepository#updateBestCheckpoint}. */
    @Column(name = "best_checkpoint", insertable = false, updatable = false)
    private String bestCheckpoint;
    @Column(name = "created_at")
    private Instant createdAt;
    @Column(name = "started_at")
    private Instant startedAt;
    @Column(name = "finished_at")
    private Instant finishedAt;
    /** Written only by {@link JobRepository#updateHeartbeat}, so runner reports never race the status moves. */
    @Column(name = "heartbeat_at", insertable = false, updatable = false)
    private Instant heartbeatAt;
    @Version
    private long version;

    protected FineTuningJob() {
    }

    public FineTuningJob(String id, String projectId, String model, String trainingFile, String validationFile,
                         String suffix, long seed, String task, String hyperparameters, Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.model = model;
        this.trainingFile = trainingFile;
        this.validationFile = validationFile;
        this.suffix = suffix;
        this.seed = seed;
        this.task = task;
        this.hyperparameters = hyperparameters;
        this.status = JobStatus.VALIDATING_FILES;
        this.createdAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getModel() {
        return model;
    }

    public String getTrainingFile() {
        return trainingFile;
    }

    public String getValidationFile() {
        return validationFile;
    }

    public String getSuffix() {
        return suffix;
    }

    public long getSeed() {
        return seed;
    }

    public String getTask() {
        return task;
    }

    public String getHyperparameters() {
        return hyperparameters;
    }

    public void setHyperparameters(String hyperparameters) {
        this.hyperparameters = hyperparameters;
    }

    public JobStatus getStatus() {
        return status;
    }

    public void setStatus(JobStatus status) {
        this.status = status;
    }

    public String getErrorCode() {
        return errorCode;
    }

    public String getErrorMessage() {
        return errorMessage;
    }

    public void setError(String code, String message) {
        this.errorCode = code;
        this.errorMessage = message == null ? null : message.substring(0, Math.min(message.length(), 3900));
    }

    public String getFineTunedModel() {
        return fineTunedModel;
    }

    public void setFineTunedModel(String fineTunedModel) {
        this.fineTunedModel = fineTunedModel;
    }

    public Long getTrainedTokens() {
        return trainedTokens;
    }

    public void setTrainedTokens(Long trainedTokens) {
        this.trainedTokens = trainedTokens;
    }

    public int getAttempt() {
        return attempt;
    }

    public void setAttempt(int attempt) {
        this.attempt = attempt;
    }

    public String getLauncherRef() {
        return launcherRef;
    }

    public void setLauncherRef(String launcherRef) {
        this.launcherRef = launcherRef;
    }

    public String getRunnerTokenHash() {
        return runnerTokenHash;
    }

    public void setRunnerTokenHash(String runnerTokenHash) {
        this.runnerTokenHash = runnerTokenHash;
    }

    /** The name the job's adapter is registered under: {@code ft:MODEL:SUFFIX:JOB}, as OpenAI names them. */
    public String adapterName() {
        return "ft:" + model + ":" + (suffix == null ? "" : suffix) + ":" + id;
    }

    public String getBestCheckpoint() {
        return bestCheckpoint;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getStartedAt() {
        return startedAt;
    }

    public void setStartedAt(Instant startedAt) {
        this.startedAt = startedAt;
    }

    public Instant getFinishedAt() {
        return finishedAt;
    }

    public void setFinishedAt(Instant finishedAt) {
        this.finishedAt = finishedAt;
    }

    public long getVersion() {
        return version;
    }

    /** When the runner of the current attempt was last heard from; null before it first called. */
    public Instant getHeartbeatAt() {
        return heartbeatAt;
    }
}
