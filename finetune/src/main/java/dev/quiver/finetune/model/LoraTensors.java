package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The LoRA factors a forward pass applies, by HF module path: each adapted linear layer computes
 * {@code y = x W^T + b + scale * (dropout(x) A^T) B^T}. Empty means the base model alone.
 *
 * @param dropout LoRA dropout rate, applied only to training forwards
 */
public record LoraTensors(Map<String, Factors> modules, float dropout) {

    /** One module's factors: A is {@code [rank, in]}, B is {@code [out, rank]}, as PEFT stores them. */
    public record Factors(NDArray a, NDArray b, float scale) {
    }

    public LoraTensors {
        modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        if (dropout < 0 || dropout >= 1) {
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        }
    }

    /** No adapter: the forward is the base model's. */
    public static LoraTensors none() {
        return new LoraTensors(Map.of(), 0f);
    }

    /** Copies an adapter's factors into {@code manager}, with PEFT's per-module scale (rsLoRA, patterns). */
    public static LoraTensors of(PeftAdapter adapter, NDManager manager) {
        Map<String, Factors> modules = new LinkedHashMap<>();
        for (LoraWeights w : adapter.weights().values()) {
            NDArray a = manager.create(w.a(), new Shape(w.rank(), w.in()));
            NDArray b = manager.create(w.b(), new Shape(w.out(), w.rank()));
            modules.put(w.module(), new Factors(a, b, (float) adapter.config().scaleFor(w.module())));
        }
        return new LoraTensors(modules, 0f);
    }

    Factors factors(String modulePath) {
        return modules.get(modulePath);
    }
}
