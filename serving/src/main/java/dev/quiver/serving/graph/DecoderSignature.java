package dev.quiver.serving.graph;

import dev.quiver.adapters.model.ModelConfig;

/**
 * The inputs and outputs of a compiled decoder graph, so the runtime binds tensors by the same names
 * the compiler declared.
 *
 * <ul>
 *   <li>{@code input_ids} int64 [batch, seq]: the new tokens of each row</li>
 *   <li>{@code seqlens_k} int32 [batch]: past + new length of each row, minus one (the op's convention)</li>
 *   <li>{@code total_sequence_length} int32 scalar: the largest past + new length in the batch</li>
 *   <li>{@code logit_positions} int64 [batch, k]: which of the new positions get logits</li>
 *   <li>{@code lora_mask} float [batch * seq, loraWidth]: which columns of the bound adapter pools each token
 *       uses (1 on its row's slot's {@code maxRank} columns, 0 elsewhere; all 0 for a base row)</li>
 *   <li>{@code past_key.L}/{@code past_value.L} float or float16 ({@code kvPrecision}) [batch, kvHeads,
 *       maxSequenceLength, headDim]: the KV cache, bound to the same memory as
 *       {@code present_key.L}/{@code present_value.L}</li>
 *   <li>{@code lora.L.M.A} [loraWidth, in] and {@code lora.L.M.B} [loraWidth, out], float or float16
 *       ({@code loraPrecision}): a run of consecutive adapter slots of the pools, {@code maxRank} rows per slot
 *       (A as PEFT stores it, B transposed and pre-multiplied by the adapter's scale); {@code loraWidth} may
 *       be 0</li>
 *   <li>output {@code logits} float [batch, k, vocab]</li>
 * </ul>
 */
public record DecoderSignature(ModelConfig config, int maxSequenceLength, LoraLayout lora,
                               Precision loraPrecision, Precision kvPrecision) {
    public static final String INPUT_IDS = "input_ids";
    public static final String SEQLENS_K = "seqlens_k";
    public static final String TOTAL_SEQUENCE_LENGTH = "total_sequence_length";
    public static final String LOGIT_POSITIONS = "logit_positions";
    public static final String LORA_MASK = "lora_mask";
    public static final String LOGITS = "logits";

    /** A signature with fp32 pools and cache. */
    public DecoderSignature(ModelConfig config, int maxSequenceLength, LoraLayout lora) {
        this(config, maxSequenceLength, lora, Precision.FP32, Precision.FP32);
    }

    public static String pastKey(int layer) {
        return "past_key." + layer;
    }

    public static String pastValue(int layer) {
        return "past_value." + layer;
    }

    public static String presentKey(int layer) {
        return "present_key." + layer;
    }

    public static String presentValue(int layer) {
        return "present_value." + layer;
    }

    public static String loraA(int layer, String module) {
        return "lora." + layer + "." + module + ".A";
    }

    public static String loraB(int layer, String module) {
        return "lora." + layer + "." + module + ".B";
    }

    /** Values in one row (one sequence) of one layer's key or value cache. */
    public long kvRowValues() {
        return (long) config.numKvHeads() * maxSequenceLength * config.headDim();
    }
}
