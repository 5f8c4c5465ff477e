package dev.quiver.serving.bench;

import dev.quiver.adapters.model.ModelConfig;

/**
 * Useful floating-point work of prefilling one prompt, counted from the model's dimensions (a multiply-add is
 * two): {@code 2 x linear params} per token; causal attention, {@code 4 x heads x head_dim x (p + 1)} per layer
 * for the token at position {@code p} ({@code QK^T} and {@code AV}); and the LM head once, for the last
 * position. Norms, RoPE and activations are left out (well under 1%).
 */
final class PrefillFlops {
    private PrefillFlops() {
    }

    /** FLOPs per prompt token of a {@code promptLen}-token prefill from an empty cache. */
    static double perToken(ModelConfig c, int promptLen) {
        double linear = 0;
        for (String m : ModelConfig.LINEAR_MODULES) {
            ModelConfig.LinearShape s = c.linear(m);
            linear += (double) s.in() * s.out();
        }
        linear *= c.numLayers();
        // sum over p of (p + 1) = P (P + 1) / 2, so per token (P + 1) / 2
        double attention = 4.0 * c.numLayers() * c.numHeads() * c.headDim() * (promptLen + 1) / 2.0;
        double head = 2.0 * c.vocabSize() * c.hiddenSize() / promptLen;
        return 2 * linear + attention + head;
    }
}
