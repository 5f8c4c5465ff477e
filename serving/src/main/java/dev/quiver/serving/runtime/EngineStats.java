package dev.quiver.serving.runtime;

/**
 * Counters of an engine since it started.
 *
 * @param prefills        prompts fully prefilled
 * @param peakBatch       the most sequences decoded together in one step
 * @param rowMoves        KV rows copied to keep running sequences contiguous after others finished
 * @param prefillChunks   prefill steps run (a prompt longer than the chunk takes several)
 * @param prefillTokens   prompt tokens prefilled
 * @param prefillNanos    time spent in prefill steps
 * @param decodeTokens    sequence-steps decoded (the sum of the batch sizes of all decode steps)
 * @param decodeNanos     time spent in decode steps
 * @param slotLoads       adapters copied from host memory into a slot by the engine thread
 */
public record EngineStats(long prefills, long decodeSteps, long generatedTokens, int peakBatch, long rowMoves,
                          long prefillChunks, long prefillTokens, long prefillNanos, long decodeTokens,
                          long decodeNanos, long slotLoads) {
}
