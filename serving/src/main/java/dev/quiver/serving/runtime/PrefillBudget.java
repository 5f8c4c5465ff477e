package dev.quiver.serving.runtime;

import java.time.Duration;

/**
 * How many prompt tokens the engine prefills in one loop iteration. While sequences decode, every one of them
 * waits for that prefill before its next token, so the chunk is sized from the measured prefill rate to take
 * about {@code budget}; with nothing decoding, nobody waits and prefill runs at the largest chunk, where the
 * MatMuls are most efficient. The rate is a running estimate over recent chunks: a step costs about one weight
 * read plus its tokens' compute, so smaller chunks run at a lower rate, and the estimate settles where a chunk
 * takes the budget (attention also makes late chunks of a long prompt slower). Engine thread only.
 */
final class PrefillBudget {
    /**
     * The smallest chunk while sequences decode, whatever the budget: every prefill step reads all the weights
     * once, so below ~16 rows a step costs about a decode step for a handful of tokens (small, 2 threads: 32-token
     * chunks prefilled at ~0.56x the rate of 512-token ones), and the prompt's prefill would stretch far more
     * than the stall shrinks.
     */
    static final int MIN_CHUNK_TOKENS = 16;
    /** Weight of the newest chunk in the running rate: about the last four chunks count. */
    private static final double NEWEST_WEIGHT = 0.25;

    private final int maxChunkTokens;
    private final double budgetNanos;
    private double tokensPerNano = Double.NaN;

    PrefillBudget(int maxChunkTokens, Duration budget) {
        if (maxChunkTokens < 1 || budget == null || budget.isNegative() || budget.isZero()) {
            throw new IllegalArgumentException("the prefill chunk cap must be positive and the prefill budget a"
                    + " positive duration; got " + maxChunkTokens + " tokens, " + budget);
        }
        this.maxChunkTokens = maxChunkTokens;
        this.budgetNanos = budget.toNanos();
    }

    /**
     * Prompt tokens to prefill in this iteration: the cap when nothing is decoding; otherwise what the measured
     * rate does in the budget, between {@link #MIN_CHUNK_TOKENS} (or the cap, if lower) and the cap, and the
     * minimum before any chunk has been measured.
     */
    int tokens(boolean sequencesDecoding) {
        int floor = Math.min(MIN_CHUNK_TOKENS, maxChunkTokens);
        if (!sequencesDecoding) {
            return maxChunkTokens;
        }
        if (Double.isNaN(tokensPerNano)) {
            return floor;
        }
        double fits = tokensPerNano * budgetNanos;
        return (int) Math.max(floor, Math.min(maxChunkTokens, Math.floor(fits)));
    }

    /** Records that a prefill step of {@code tokens} prompt tokens took {@code nanos}. */
    void observe(int tokens, long nanos) {
        if (tokens < 1 || nanos < 1) {
            return;
        }
        double rate = tokens / (double) nanos;
        tokensPerNano = Double.isNaN(tokensPerNano) ? rate
                : NEWEST_WEIGHT * rate + (1 - NEWEST_WEIGHT) * tokensPerNano;
    }
}
