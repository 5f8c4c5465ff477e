package dev.quiver.serving.lora;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.AdapterFormatException;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Precision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a server's LoRA pools hold adapters: the base model's shapes, the pools' target modules, slots and max rank
 * ({@link LoraLayout}) and the precision of their values ({@link LoraPools}). An adapter is checked against it and
 * put in the pools' layout once, when it comes into host memory ({@link #prepare}); writing a slot is then a copy.
 */
public record PoolFormat(ModelConfig config, LoraLayout layout, Precision precision) {
    /**
     * Problems that keep {@code adapter} out of these pools (modules without a pool, rank above the pool rank, shapes
     * that are not the base's, NaN or infinite values, values beyond fp16's range for fp16 pools), each naming the
     * adapter and module path; empty when it fits.
     */
    public List<String> misfits(String name, PeftAdapter adapter) {
        Map<String, ModelConfig.LinearShape> pooled = pooled();
        List<String> problems = new ArrayList<>();
        for (LoraWeights w : adapter.weights().values()) {
            ModelConfig.LinearShape p = pooled.get(w.module());
            if (p == null) {
                problems.add("adapter '" + name + "' adapts " + w.module() + " but this server compiled LoRA pools"
                        + " only for " + layout.targetModules() + "; start it with that module among the LoRA"
                        + " targets");
            } else if (w.rank() > layout.maxRank()) {
                problems.add("adapter '" + name + "' has rank " + w.rank() + " at " + w.module()
                        + ", above the pool max rank " + layout.maxRank() + "; raise the max LoRA rank or"
                        + " retrain with r <= " + layout.maxRank());
            } else if (w.in() != p.in() || w.out() != p.out()) {
                problems.add("adapter '" + name + "' module " + w.module() + " is [" + w.out() + " x " + w.in()
                        + "], the base layer is [" + p.out() + " x " + p.in() + "]");
            } else if (!finite(w.a()) || !finite(w.b())) {
                // a step multiplies every bound slot (masked by 0), so NaN or Inf here would reach other rows
                problems.add("adapter '" + name + "' has NaN or infinite values in " + w.module() + " lora_"
                        + (finite(w.a()) ? "B" : "A") + "; the adapter is broken, retrain or re-export it");
            } else if (precision == Precision.FP16) {
                double scale = adapter.config().scaleFor(w.module());
                if (maxAbs(w.a()) > Precision.FP16_MAX || maxAbs(w.b()) * Math.abs(scale) > Precision.FP16_MAX) {
                    problems.add("adapter '" + name + "' has values in " + w.module() + " beyond fp16's range"
                            + " (|v| > 65504, lora_B times its scale " + scale + "), which this server's fp16 LoRA"
                            + " pools cannot hold; serve it on an fp32 base (quantize none) or retrain it");
                }
            }
        }
        return problems;
    }

    /** {@code adapter} in these pools' layout and precision; refused, listing every misfit, if it does not fit. */
    public PreparedAdapter prepare(String name, PeftAdapter adapter) throws AdapterFormatException {
        List<String> problems = misfits(name, adapter);
        if (!problems.isEmpty()) {
            throw new AdapterFormatException(String.join("; ", problems));
        }
        return PreparedAdapter.of(this, adapter);
    }

    /** The shape of every pooled module, by module path. */
    private Map<String, ModelConfig.LinearShape> pooled() {
        Map<String, ModelConfig.LinearShape> pooled = new LinkedHashMap<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : layout.targetModules()) {
                pooled.put(ModelConfig.modulePath(l, m), config.linear(m));
            }
        }
        return pooled;
    }

    private static boolean finite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    private static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
