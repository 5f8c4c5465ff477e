package dev.quiver.datasets;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A training file and a held-out file built from a task's captured calls, with the statistics of the build. */
@Entity
@Table(name = "task_datasets")
public class TaskDataset {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    @Column(name = "task_id")
    private String taskId;
    @Column(name = "training_file")
    private String trainingFile;
    @Column(name = "heldout_file")
    private String heldoutFile;
    private String statistics;
    @Column(name = "created_at")
    private Instant createdAt;

    protected TaskDataset() {
    }

    public TaskDataset(String id, String projectId, String taskId, String trainingFile, String heldoutFile,
                       String statistics, Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.taskId = taskId;
        this.trainingFile = trainingFile;
        this.heldoutFile = heldoutFile;
        this.statistics = statistics;
        this.createdAt = createdAt;
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

    public String getTrainingFile() {
        return trainingFile;
    }

    public String getHeldoutFile() {
        return heldoutFile;
    }

    public String getStatistics() {
        return statistics;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }
}
