package dev.quiver.jobs;

/** Published in the transaction that marks a job succeeded; {@code adapter} is its adapter as name@version. */
public record JobSucceeded(String jobId, String adapter) {
}
