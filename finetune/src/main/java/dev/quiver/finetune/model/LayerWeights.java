package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;

/**
 * The frozen weights of one decoder block. Biases are null unless the family has q/k/v bias (Qwen2),
 * and the q/k norms are null unless it normalises queries and keys per head (Qwen3).
 */
record LayerWeights(
        NDArray inputNorm,
        NDArray q, NDArray qBias,
        NDArray k, NDArray kBias,
        NDArray v, NDArray vBias,
        NDArray qNorm, NDArray kNorm,
        NDArray o,
        NDArray postAttentionNorm,
        NDArray gate, NDArray up, NDArray down) {

    NDArray weight(String module) {
        return switch (module) {
            case "q_proj" -> q;
            case "k_proj" -> k;
            case "v_proj" -> v;
            case "o_proj" -> o;
            case "gate_proj" -> gate;
            case "up_proj" -> up;
            case "down_proj" -> down;
            default -> throw new IllegalArgumentException("unknown linear module " + module);
        };
    }
}
