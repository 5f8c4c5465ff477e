package dev.quiver.serving.runtime;

/**
 * Counters of an engine since it started.
 *
 * @param peakBatch the most sequences decoded together in one step
 * @param rowMoves  KV rows copied to keep running sequences contiguous after others finished
 */
public record EngineStats(long prefills, long decodeSteps, long generatedTokens, int peakBatch, long rowMoves) {
}
