package dev.quiver.serving.runtime;

/**
 * Counters of an engine since it started, and its queue and batch right now.
 *
 * @param prefills        prompts fully prefilled
 * @param decodeSteps     decode steps run (one token for every decoding sequence each)
 * @param generatedTokens tokens handed to requests (a final stop token is not one)
 * @param peakBatch       the most sequences decoded together in one step
 * @param rowMoves        KV rows copied to keep running sequences contiguous after others finished
 * @param prefillChunks   prefill steps run (a prompt longer than the chunk takes several)
 * @param prefillTokens   prompt tokens prefilled
 * @param prefillNanos    time spent in prefill steps
 * @param decodeTokens    sequence-steps decoded (the sum of the batch sizes of all decode steps)
 * @param decodeNanos     time spent in decode steps
 * @param slotLoads       adapters copied from host memory into a slot by the engine thread
 * @param queueDepth      requests submitted and not started yet
 * @param runningRows     sequences decoding now (KV rows in the decode batch)
 * @param slotEvictions   resident adapters pushed out of their slot to make room for another
 * @param adapterReads    adapter directories read from disk by the registry (host cache misses and registrations)
 */
public record EngineStats(long prefills, long decodeSteps, long generatedTokens, int peakBatch, long rowMoves,
                          long prefillChunks, long prefillTokens, long prefillNanos, long decodeTokens,
                          long decodeNanos, long slotLoads, int queueDepth, int runningRows, long slotEvictions,
                          long adapterReads) {
}
