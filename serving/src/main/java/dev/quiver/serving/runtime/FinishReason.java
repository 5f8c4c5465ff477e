package dev.quiver.serving.runtime;

/** Why a sequence ended, in OpenAI's terms plus cancellation. */
public enum FinishReason {
    /** An end-of-sequence token, a stop token id or a stop string. */
    STOP("stop"),
    /** max_tokens reached, or the KV capacity of the sequence. */
    LENGTH("length"),
    /** The caller cancelled it. */
    CANCELLED("cancelled");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** The {@code finish_reason} string of OpenAI's API. */
    public String openAiName() {
        return openAiName;
    }
}
