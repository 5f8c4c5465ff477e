package dev.quiver.adapters.model;

import java.util.Arrays;
import java.util.Optional;

/**
 * The decoder families Quiver runs. They share one architecture and differ only in the switches here,
 * so both engines read these instead of keeping a model class per family.
 */
public enum ModelFamily {
    LLAMA("llama", "LlamaForCausalLM", false, false),
    QWEN2("qwen2", "Qwen2ForCausalLM", true, false),
    QWEN3("qwen3", "Qwen3ForCausalLM", false, true);

    private final String modelType;
    private final String architecture;
    private final boolean qkvBias;
    private final boolean qkNorm;

    ModelFamily(String modelType, String architecture, boolean qkvBias, boolean qkNorm) {
        this.modelType = modelType;
        this.architecture = architecture;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    /** {@code model_type} in config.json. */
    public String modelType() {
        return modelType;
    }

    /** {@code architectures[0]} in config.json. */
    public String architecture() {
        return architecture;
    }

    /** Whether q/k/v projections always carry a bias (Qwen2). */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether queries and keys get a per-head RMSNorm before RoPE (Qwen3). */
    public boolean qkNorm() {
        return qkNorm;
    }

    public static Optional<ModelFamily> byArchitecture(String architecture) {
        return Arrays.stream(values()).filter(f -> f.architecture.equals(architecture)).findFirst();
    }

    public static Optional<ModelFamily> byModelType(String modelType) {
        return Arrays.stream(values()).filter(f -> f.modelType.equals(modelType)).findFirst();
    }
}
