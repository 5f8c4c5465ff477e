package dev.quiver.tasks;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** One entry of a task's adapter history; entries are never deleted while the task exists, only rolled back. */
@Entity
@Table(name = "task_versions")
public class TaskVersion {
    /** Why the task moved to this adapter. */
    public enum Reason {
        CREATED, FINE_TUNED, UPDATED, PROMOTED
    }

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;
    @Column(name = "task_id")
    private String taskId;
    private int revision;
    private String adapter;
    @Column(name = "source_job")
    private String sourceJob;
    private String reason;
    @Column(name = "created_at")
    private Instant createdAt;
    @Column(name = "rolled_back_at")
    private Instant rolledBackAt;

    protected TaskVersion() {
    }

    public TaskVersion(String taskId, int revision, String adapter, String sourceJob, Reason reason,
                       Instant createdAt) {
        this.taskId = taskId;
        this.revision = revision;
        this.adapter = adapter;
        this.sourceJob = sourceJob;
        this.reason = reason.name().toLowerCase(java.util.Locale.ROOT);
        this.createdAt = createdAt;
    }

    void rollBack(Instant now) {
        this.rolledBackAt = now;
    }

    public Long getId() {
        return id;
    }

    public String getTaskId() {
        return taskId;
    }

    public int getRevision() {
        return revision;
    }

    public String getAdapter() {
        return adapter;
    }

    public String getSourceJob() {
        return sourceJob;
    }

    /** {@code created}, {@code fine_tuned} or {@code updated}. */
    public String getReason() {
        return reason;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getRolledBackAt() {
        return rolledBackAt;
    }

    public boolean isRolledBack() {
        return rolledBackAt != null;
    }
}
