package dev.quiver.serving.graph;

/**
 * What a compiled decoder graph is sized for.
 *
 * @param maxSequenceLength KV cache capacity per sequence (prompt plus generated tokens) and RoPE table length
 * @param lora              the adapter pools compiled into the graph
 * @param quantization      how the base model's linear weights are stored
 * @param loraKernel        the op that applies the adapters ({@link LoraKernel#forCpu()} unless set)
 * @param quantizedKernel   the op that multiplies by int8 and int4 base weights ({@link QuantizedKernel#forCpu()}
 *                          unless set)
 * @param attentionKernel   the op that attends over the KV cache ({@link AttentionKernel#forCpu()} unless set)
 */
public record CompileOptions(int maxSequenceLength, LoraLayout lora, Quantization quantization,
                             LoraKernel loraKernel, QuantizedKernel quantizedKernel, AttentionKernel attentionKernel) {
    public static final int DEFAULT_MAX_SEQUENCE_LENGTH = 2048;

    public CompileOptions {
        if (maxSequenceLength < 1) {
            throw new IllegalArgumentException("maxSequenceLength must be positive, got " + maxSequenceLength);
        }
        if (quantization == null) {
            throw new IllegalArgumentException("quantization must be set (Quantization.NONE for fp32)");
        }
        if (loraKernel == null) {
            throw new IllegalArgumentException("loraKernel must be set (LoraKernel.ONNX runs everywhere)");
        }
        if (quantizedKernel == null) {
            throw new IllegalArgumentException("quantizedKernel must be set (QuantizedKernel.NBITS runs everywhere)");
        }
        if (attentionKernel == null) {
            throw new IllegalArgumentException("attentionKernel must be set (AttentionKernel.GQA runs everywhere)");
        }
    }

    /**
     * The adapter pools' element type: fp16 where the native op reads them on a quantized base (half the bytes a
     * step streams per adapter), else fp32 (what the ONNX ops need, and what fp32 parity with the trainer needs).
     */
    public Precision loraPrecision() {
        return loraKernel == LoraKernel.NATIVE && quantization != Quantization.NONE ? Precision.FP16
                : Precision.FP32;
    }

    /**
     * The KV cache's element type: fp16 where the native attention op reads it on a quantized base (half the bytes
     * a step reads per cached position, and half the cache's memory), else fp32 (what GroupQueryAttention reads
     * with fp32 queries, and what fp32 parity with the trainer needs).
     */
    public Precision kvPrecision() {
        return attentionKernel == AttentionKernel.NATIVE && quantization != Quantization.NONE ? Precision.FP16
                : Precision.FP32;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link CompileOptions}; every setting has a default. */
    public static final class Builder {
        private int maxSequenceLength = DEFAULT_MAX_SEQUENCE_LENGTH;
        private LoraLayout lora = LoraLayout.allLinear(8, 16);
        private Quantization quantization = Quantization.NONE;
        private LoraKernel loraKernel;
        private QuantizedKernel quantizedKernel;
        private AttentionKernel attentionKernel;

        public Builder optMaxSequenceLength(int maxSequenceLength) {
            this.maxSequenceLength = maxSequenceLength;
            return this;
        }

        public Builder optLora(LoraLayout lora) {
            this.lora = lora;
            return this;
        }

        public Builder optQuantization(Quantization quantization) {
            this.quantization = quantization;
            return this;
        }

        public Builder optLoraKernel(LoraKernel loraKernel) {
            this.loraKernel = loraKernel;
            return this;
        }

        public Builder optQuantizedKernel(QuantizedKernel quantizedKernel) {
            this.quantizedKernel = quantizedKernel;
            return this;
        }

        public Builder optAttentionKernel(AttentionKernel attentionKernel) {
            this.attentionKernel = attentionKernel;
            return this;
        }

        public CompileOptions build() {
            return new CompileOptions(maxSequenceLength, lora, quantization,
                    loraKernel == null ? LoraKernel.forCpu() : loraKernel,
                    quantizedKernel == null ? QuantizedKernel.forCpu() : quantizedKernel,
                    attentionKernel == null ? AttentionKernel.forCpu() : attentionKernel);
        }
    }
}
