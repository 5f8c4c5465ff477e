package dev.quiver.capture;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * One recorded call of a task: the chat request body, the answer's text, how long it took and what it
 * cost in tokens. {@code side} is {@code upstream} (through the capture proxy, or escalated there by the task's
 * fallback) or {@code task} (the task's own model, through invoke or MCP).
 */
@Entity
@Table(name = "captured_calls")
public class CapturedCall {
    /** Who answered the call. */
    public static final String UPSTREAM = "upstream";
    public static final String TASK = "task";
    private static final int MAX_TEXT = 200_000;

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;
    @Column(name = "project_id")
    private String projectId;
    @Column(name = "task_id")
    private String taskId;
    private String side;
    private String model;
    private String request;
    private String output;
    private int status;
    private String error;
    @Column(name = "latency_ms")
    private double latencyMs;
    @Column(name = "prompt_tokens")
    private int promptTokens;
    @Column(name = "completion_tokens")
    private int completionTokens;
    /** Why the task's fallback escalated this call to the upstream; null for any other call. */
    @Column(name = "escalation_reason")
    private String escalationReason;
    @Column(name = "created_at")
    private Instant createdAt;

    protected CapturedCall() {
    }

    public CapturedCall(String projectId, String taskId, String side, String model, String request, String output,
                        int status, String error, double latencyMs, int promptTokens, int completionTokens,
                        String escalationReason, Instant createdAt) {
        this.projectId = projectId;
        this.taskId = taskId;
        this.side = side;
        this.model = clip(model, 300);
        this.request = clip(request, MAX_TEXT);
        this.output = output == null ? null : clip(output, MAX_TEXT);
        this.status = status;
        this.error = error == null ? null : clip(error, 2000);
        this.latencyMs = latencyMs;
        this.promptTokens = promptTokens;
        this.completionTokens = completionTokens;
        this.escalationReason = escalationReason;
        this.createdAt = createdAt;
    }

    /** A copy without the id a failed batch insert may have left on this one. */
    CapturedCall unsaved() {
        return new CapturedCall(projectId, taskId, side, model, request, output, status, error, latencyMs,
                promptTokens, completionTokens, escalationReason, createdAt);
    }

    private static String clip(String s, int max) {
        return s.length() > max ? s.substring(0, max) : s;
    }

    public Long getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getTaskId() {
        return taskId;
    }

    public String getSide() {
        return side;
    }

    public String getModel() {
        return model;
    }

    public String getRequest() {
        return request;
    }

    public String getOutput() {
        return output;
    }

    public int getStatus() {
        return status;
    }

    public String getError() {
        return error;
    }

    public double getLatencyMs() {
        return latencyMs;
    }

    public int getPromptTokens() {
        return promptTokens;
    }

    public int getCompletionTokens() {
        return completionTokens;
    }

    public String getEscalationReason() {
        return escalationReason;
    }

    /** Whether the task's fallback sent this call to the upstream. */
    public boolean escalated() {
        return escalationReason != null;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    /** Whether the call was answered (HTTP 200 with an answer). */
    public boolean succeeded() {
        return status == 200 && output != null;
    }
}
