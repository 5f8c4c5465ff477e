package dev.quiver.serving.runtime;

import dev.quiver.serving.constraint.TokenConstraint;

/**
 * What to generate: a tokenized prompt, the adapter to run it with (null for the base model), how to sample,
 * and the constraint its output must satisfy (null for none).
 */
public record GenerationRequest(int[] promptTokens, String adapter, SamplingParams params, TokenConstraint constraint) {
    public GenerationRequest(int[] promptTokens, String adapter, SamplingParams params) {
        this(promptTokens, adapter, params, null);
    }

    public GenerationRequest {
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt must have at least one token");
        }
        promptTokens = promptTokens.clone();
    }
}
