package dev.quiver.serving.runtime;

/**
 * What to generate: a tokenized prompt, the adapter to run it with (null for the base model), and how to sample.
 */
public record GenerationRequest(int[] promptTokens, String adapter, SamplingParams params) {
    public GenerationRequest {
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt must have at least one token");
        }
        promptTokens = promptTokens.clone();
    }
}
