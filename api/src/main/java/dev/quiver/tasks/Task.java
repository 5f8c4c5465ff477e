package dev.quiver.tasks;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;

/**
 * A persisted task: a tool-safe name, its description for agents, the adapter it runs on, the prompt
 * template that turns its input into chat messages, and its input and output JSON Schemas (kept as JSON
 * text). {@code adapter} is null until the task's first fine-tuning job succeeds.
 */
@Entity
@Table(name = "tasks")
public class Task {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String name;
    private String description;
    /** {@code name@version} (pinned), {@code name} (the newest version), or the base model's name. */
    private String adapter;
    /** The active entry of the task's history; 0 while it has none. */
    private int revision;
    @Column(name = "training_job")
    private String trainingJob;
    @Column(name = "system_prompt")
    private String systemPrompt;
    @Column(name = "prompt_template")
    private String promptTemplate;
    @Column(name = "input_schema")
    private String inputSchema;
    @Column(name = "output_schema")
    private String outputSchema;
    private double temperature;
    @Column(name = "max_tokens")
    private int maxTokens;
    /** JSON of its {@link TaskFallback}; null without one. */
    private String fallback;
    @Column(name = "created_at")
    private Instant createdAt;
    @Column(name = "updated_at")
    private Instant updatedAt;
    @Version
    private long version;

    protected Task() {
    }

    public Task(String id, String projectId, String name, Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.name = name;
        this.createdAt = createdAt;
        this.updatedAt = createdAt;
    }

    /** Copies every definition field of {@code d} (not the adapter: that moves through the history). */
    void define(TaskDefinition d, Instant now) {
        this.description = d.description();
        this.systemPrompt = d.systemPrompt();
        this.promptTemplate = d.promptTemplate();
        this.inputSchema = d.inputSchema().toString();
        this.outputSchema = d.outputSchema() == null ? null : d.outputSchema().toString();
        this.temperature = d.temperature();
        this.maxTokens = d.maxTokens();
        this.updatedAt = now;
    }

    void setFallback(TaskFallback f, Instant now) {
        this.fallback = f == null ? null : f.json().toString();
        this.updatedAt = now;
    }

    public String getFallback() {
        return fallback;
    }

    void moveTo(String adapter, int revision, Instant now) {
        this.adapter = adapter;
        this.revision = revision;
        this.updatedAt = now;
    }

    void setTrainingJob(String trainingJob) {
        this.trainingJob = trainingJob;
    }

    public String getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getName() {
        return name;
    }

    public String getDescription() {
        return description;
    }

    public String getAdapter() {
        return adapter;
    }

    public int getRevision() {
        return revision;
    }

    public String getTrainingJob() {
        return trainingJob;
    }

    public String getSystemPrompt() {
        return systemPrompt;
    }

    public String getPromptTemplate() {
        return promptTemplate;
    }

    public String getInputSchema() {
        return inputSchema;
    }

    public String getOutputSchema() {
        return outputSchema;
    }

    public double getTemperature() {
        return temperature;
    }

    public int getMaxTokens() {
        return maxTokens;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }

    public long getVersion() {
        return version;
    }
}
