package dev.quiver.capture;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * A task's upstream: the OpenAI-compatible endpoint its capture proxy forwards to, where its API key
 * lives (a secret reference, never the key), and how its calls are captured.
 */
@Entity
@Table(name = "task_upstreams")
public class Upstream {
    @Id
    @Column(name = "task_id")
    private String taskId;
    @Column(name = "project_id")
    private String projectId;
    @Column(name = "base_url")
    private String baseUrl;
    private String model;
    @Column(name = "api_key_ref")
    private String apiKeyRef;
    private boolean capture;
    @Column(name = "sample_rate")
    private double sampleRate;
    @Column(name = "retention_days")
    private int retentionDays;
    @Column(name = "updated_at")
    private Instant updatedAt;

    protected Upstream() {
    }

    public Upstream(String taskId, String projectId) {
        this.taskId = taskId;
        this.projectId = projectId;
    }

    void define(UpstreamViews.Settings s, Instant now) {
        this.baseUrl = s.baseUrl();
        this.model = s.model();
        this.apiKeyRef = s.apiKey();
        this.capture = s.capture();
        this.sampleRate = s.sampleRate();
        this.retentionDays = s.retentionDays();
        this.updatedAt = now;
    }

    public String getTaskId() {
        return taskId;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getBaseUrl() {
        return baseUrl;
    }

    public String getModel() {
        return model;
    }

    public String getApiKeyRef() {
        return apiKeyRef;
    }

    public boolean isCapture() {
        return capture;
    }

    public double getSampleRate() {
        return sampleRate;
    }

    public int getRetentionDays() {
        return retentionDays;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }
}
