package dev.quiver.serving.runtime;

/**
 * The engine's running totals. Written by the engine thread only (so plain increments of volatiles are
 * safe), read by anyone through {@link InferenceEngine#stats()}.
 */
final class EngineCounters {
    private volatile long prefills;
    private volatile long prefillChunks;
    private volatile long prefillTokens;
    private volatile long prefillNanos;
    private volatile long decodeSteps;
    private volatile long decodeTokens;
    private volatile long decodeNanos;
    private volatile long generatedTokens;
    private volatile int peakBatch;
    private volatile long rowMoves;
    private volatile long slotLoads;

    void prefillChunk(int tokens, long nanos) {
        prefillChunks++;
        prefillTokens += tokens;
        prefillNanos += nanos;
    }

    void prefillDone() {
        prefills++;
    }

    void decodeStep(int batch, long nanos) {
        decodeSteps++;
        decodeTokens += batch;
        decodeNanos += nanos;
        peakBatch = Math.max(peakBatch, batch);
    }

    void generatedToken() {
        generatedTokens++;
    }

    void rowMove() {
        rowMoves++;
    }

    void slotLoad() {
        slotLoads++;
    }

    EngineStats snapshot(int queueDepth, int runningRows, long slotEvictions, long adapterReads) {
        return new EngineStats(prefills, decodeSteps, generatedTokens, peakBatch, rowMoves, prefillChunks,
                prefillTokens, prefillNanos, decodeTokens, decodeNanos, slotLoads, queueDepth, runningRows,
                slotEvictions, adapterReads);
    }
}
