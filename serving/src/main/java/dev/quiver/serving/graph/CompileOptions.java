package dev.quiver.serving.graph;

/**
 * What a compiled decoder graph is sized for.
 *
 * @param maxSequenceLength KV cache capacity per sequence (prompt plus generated tokens) and RoPE table length
 * @param lora              the adapter pools compiled into the graph
 */
public record CompileOptions(int maxSequenceLength, LoraLayout lora) {
    public static final int DEFAULT_MAX_SEQUENCE_LENGTH = 2048;

    public CompileOptions {
        if (maxSequenceLength < 1) {
            throw new IllegalArgumentException("maxSequenceLength must be positive, got " + maxSequenceLength);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link CompileOptions}; every setting has a default. */
    public static final class Builder {
        private int maxSequenceLength = DEFAULT_MAX_SEQUENCE_LENGTH;
        private LoraLayout lora = LoraLayout.allLinear(8, 16);

        public Builder optMaxSequenceLength(int maxSequenceLength) {
            this.maxSequenceLength = maxSequenceLength;
            return this;
        }

        public Builder optLora(LoraLayout lora) {
            this.lora = lora;
            return this;
        }

        public CompileOptions build() {
            return new CompileOptions(maxSequenceLength, lora);
        }
    }
}
