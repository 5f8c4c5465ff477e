package dev.quiver.jobs;

/** Published in the transaction that stores a job's checkpoint; listeners act once it commits. */
public record JobCheckpointSaved(String jobId, String checkpointId) {
}
