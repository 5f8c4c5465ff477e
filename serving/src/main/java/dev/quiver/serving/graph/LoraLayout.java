package dev.quiver.serving.graph;

import dev.quiver.adapters.model.ModelConfig;
import java.util.List;

/**
 * The shape of the multi-LoRA pools compiled into a graph: {@code slots} adapter slots (slot 0 is the base,
 * which has no weights) of rank up to {@code maxRank} on the linear modules in {@code targetModules}.
 */
public record LoraLayout(int slots, int maxRank, List<String> targetModules) {
    /** Slot 0 holds no adapter: rows that use it run the base model. */
    public static final int BASE_SLOT = 0;

    public LoraLayout {
        targetModules = List.copyOf(targetModules);
        if (slots < 1) {
            throw new IllegalArgumentException("LoRA slots must be at least 1 (slot 0 is the base), got " + slots);
        }
        if (maxRank < 1) {
            throw new IllegalArgumentException("LoRA max rank must be positive, got " + maxRank);
        }
        for (String m : targetModules) {
            if (!ModelConfig.LINEAR_MODULES.contains(m)) {
                throw new IllegalArgumentException("LoRA target '" + m + "' is not a linear module; expected some of "
                        + ModelConfig.LINEAR_MODULES);
            }
        }
    }

    /** Every linear module of every block, {@code slots} slots of rank {@code maxRank}. */
    public static LoraLayout allLinear(int slots, int maxRank) {
        return new LoraLayout(slots, maxRank, ModelConfig.LINEAR_MODULES);
    }

    public boolean targets(String module) {
        return targetModules.contains(module);
    }
}
