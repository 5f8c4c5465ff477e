package dev.quiver.serving.runtime;

import java.util.List;

/**
 * A finished generation.
 *
 * @param tokenIds the generated tokens, without a final stop token
 * @param text     their text, cut before a stop string; empty when the engine has no tokenizer
 * @param tokens   per-token detail (text pieces and log-probabilities), parallel to {@code tokenIds}
 * @param heldBack the end of {@code text} that no {@link GeneratedToken} carried (it was held back while it
 *                 could have become a stop string); a streaming client sends it before the finish event
 */
public record Completion(int[] tokenIds, String text, FinishReason finishReason, int promptTokens,
                         List<GeneratedToken> tokens, String heldBack) {
    public Completion {
        tokenIds = tokenIds.clone();
        tokens = List.copyOf(tokens);
    }

    public int completionTokens() {
        return tokenIds.length;
    }
}
