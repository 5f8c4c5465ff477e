package dev.quiver.promotion;

/** A succeeded job's adapter waits for its eval before it may take over the task. */
public record PromotionRequested(String projectId, String task, String jobId, String adapter) {
}
