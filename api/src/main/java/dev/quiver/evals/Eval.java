package dev.quiver.evals;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * One eval: a model (the base, an adapter version, or the task's upstream) run over a held-out file of a
 * task and scored against its reference answers. {@code metrics} is JSON once it succeeded.
 */
@Entity
@Table(name = "evals")
public class Eval {
    /** Lifecycle: queued, running, then succeeded or failed. */
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";

    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    @Column(name = "task_id")
    private String taskId;
    private String model;
    @Column(name = "file_id")
    private String fileId;
    @Column(name = "job_id")
    private String jobId;
    private String status;
    private int examples;
    private String metrics;
    private String error;
    @Column(name = "created_at")
    private Instant createdAt;
    @Column(name = "finished_at")
    private Instant finishedAt;

    protected Eval() {
    }

    public Eval(String id, String projectId, String taskId, String model, String fileId, String jobId, int examples,
                Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.taskId = taskId;
        this.model = model;
        this.fileId = fileId;
        this.jobId = jobId;
        this.examples = examples;
        this.status = QUEUED;
        this.createdAt = createdAt;
    }

    void start() {
        this.status = RUNNING;
    }

    void succeed(String metrics, Instant now) {
        this.status = SUCCEEDED;
        this.metrics = metrics;
        this.finishedAt = now;
    }

    void fail(String error, Instant now) {
        this.status = FAILED;
        this.error = error.length() > 3900 ? error.substring(0, 3900) : error;
        this.finishedAt = now;
    }

    public String getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getTaskId() {
        return taskId;
    }

    public String getModel() {
        return model;
    }

    public String getFileId() {
        return fileId;
    }

    public String getJobId() {
        return jobId;
    }

    public String getStatus() {
        return status;
    }

    public int getExamples() {
        return examples;
    }

    public String getMetrics() {
        return metrics;
    }

    public String getError() {
        return error;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getFinishedAt() {
        return finishedAt;
    }
}
