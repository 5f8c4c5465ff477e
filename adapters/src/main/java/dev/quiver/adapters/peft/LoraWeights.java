package dev.quiver.adapters.peft;

/**
 * The LoRA factors of one linear module: {@code delta W = scale * B @ A}, with A row-major
 * {@code [rank, in]} and B row-major {@code [out, rank]} as PEFT stores them.
 *
 * @param module the HF module path, e.g. {@code model.layers.0.self_attn.q_proj}
 */
public record LoraWeights(String module, int rank, int in, int out, float[] a, float[] b) {
    public LoraWeights {
        if (a.length != rank * in || b.length != out * rank) {
            throw new IllegalArgumentException(module + ": A has " + a.length + " values for [" + rank + ", " + in
                    + "] and B " + b.length + " for [" + out + ", " + rank + "]");
        }
    }
}
