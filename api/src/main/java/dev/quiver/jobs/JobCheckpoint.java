package dev.quiver.jobs;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * A training checkpoint the runner uploaded: a blob (zip of the checkpoint dir) at a step; once evaluated, the
 * adapter it was registered as and its eval scores in {@code metrics}.
 */
@Entity
@Table(name = "job_checkpoints")
public class JobCheckpoint {
    @Id
    private String id;
    @Column(name = "job_id")
    private String jobId;
    private int step;
    private String sha256;
    private String metrics;
    @Column(name = "fine_tuned_model_checkpoint")
    private String fineTunedModelCheckpoint;
    @Column(name = "created_at")
    private Instant createdAt;

    protected JobCheckpoint() {
    }

    public JobCheckpoint(String id, String jobId, int step, String sha256, String metrics, Instant createdAt) {
        this.id = id;
        this.jobId = jobId;
        this.step = step;
        this.sha256 = sha256;
        this.metrics = metrics;
        this.createdAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getJobId() {
        return jobId;
    }

    public int getStep() {
        return step;
    }

    public String getSha256() {
        return sha256;
    }

    public String getMetrics() {
        return metrics;
    }

    public String getFineTunedModelCheckpoint() {
        return fineTunedModelCheckpoint;
    }

    /** Records the adapter the checkpoint was registered as and its metrics, eval scores included. */
    void evaluated(String adapter, String metricsJson) {
        this.fineTunedModelCheckpoint = adapter;
        this.metrics = metricsJson;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }
}
