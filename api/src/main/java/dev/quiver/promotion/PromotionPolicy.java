package dev.quiver.promotion;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * When a fine-tuned adapter may take over its task: its eval on {@code evalFile} scores at least
 * {@code minScore} on {@code metric} and, with {@code notWorse}, at least what the current adapter scores.
 */
@Entity
@Table(name = "task_promotion_policies")
public class PromotionPolicy {
    @Id
    @Column(name = "task_id")
    private String taskId;
    private String metric;
    @Column(name = "min_score")
    private double minScore;
    @Column(name = "eval_file")
    private String evalFile;
    @Column(name = "not_worse")
    private boolean notWorse;
    @Column(name = "updated_at")
    private Instant updatedAt;

    protected PromotionPolicy() {
    }

    public PromotionPolicy(String taskId) {
        this.taskId = taskId;
    }

    void define(PromotionViews.Policy p, Instant now) {
        this.metric = p.metric();
        this.minScore = p.minScore();
        this.evalFile = p.evalFile();
        this.notWorse = p.notWorseThanCurrent();
        this.updatedAt = now;
    }

    public String getTaskId() {
        return taskId;
    }

    public String getMetric() {
        return metric;
    }

    public double getMinScore() {
        return minScore;
    }

    public String getEvalFile() {
        return evalFile;
    }

    public boolean isNotWorse() {
        return notWorse;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }
}
