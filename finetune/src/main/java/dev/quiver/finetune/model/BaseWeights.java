package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The base model's weights as frozen fp32 arrays on the training device. */
final class BaseWeights {
    private final Map<String, NDArray> byName;
    private final NDArray embed;
    private final NDArray finalNorm;
    private final NDArray lmHead;
    private final List<LayerWeights> layers;

    private BaseWeights(Map<String, NDArray> byName, ModelConfig config) {
        this.byName = byName;
        this.embed = byName.get("model.embed_tokens.weight");
        this.finalNorm = byName.get("model.norm.weight");
        // a tied head is the embedding matrix itself, not a copy: PEFT and HF share the storage too
        this.lmHead = config.tieWordEmbeddings() ? embed : byName.get("lm_head.weight");
        List<LayerWeights> ls = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            ls.add(new LayerWeights(
                    byName.get(p + "input_layernorm.weight"),
                    byName.get(p + "self_attn.q_proj.weight"), byName.get(p + "self_attn.q_proj.bias"),
                    byName.get(p + "self_attn.k_proj.weight"), byName.get(p + "self_attn.k_proj.bias"),
                    byName.get(p + "self_attn.v_proj.weight"), byName.get(p + "self_attn.v_proj.bias"),
                    byName.get(p + "self_attn.q_norm.weight"), byName.get(p + "self_attn.k_norm.weight"),
                    byName.get(p + "self_attn.o_proj.weight"),
                    byName.get(p + "post_attention_layernorm.weight"),
                    byName.get(p + "mlp.gate_proj.weight"), byName.get(p + "mlp.up_proj.weight"),
                    byName.get(p + "mlp.down_proj.weight")));
        }
        this.layers = List.copyOf(ls);
    }

    /**
     * Copies every weight the config expects into {@code manager}. BF16 and F16 are widened to fp32 in
     * Java first: a BF16 array reaching DJL's PyTorch engine aborts the JVM. Each weight is then copied once
     * more into memory libtorch owns: DJL keeps an array made from Java data in a direct buffer, and direct
     * buffers are capped by {@code -XX:MaxDirectMemorySize} (by default the maximum heap), which a model of a
     * few billion fp32 parameters exceeds. Only one weight at a time is staged that way.
     */
    static BaseWeights load(ModelDirectory dir, NDManager manager) throws IOException {
        ModelConfig config = dir.config();
        Checkpoint checkpoint = dir.weights();
        Map<String, NDArray> byName = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : config.expectedWeights().entrySet()) {
            Tensor t = checkpoint.tensor(e.getKey());
            NDArray array;
            try (NDArray staged = manager.create(t.toFloats(), new Shape(e.getValue()))) {
                array = staged.duplicate();
            }
            array.setName(e.getKey());
            byName.put(e.getKey(), array);
        }
        return new BaseWeights(byName, config);
    }

    NDArray embed() {
        return embed;
    }

    NDArray finalNorm() {
        return finalNorm;
    }

    NDArray lmHead() {
        return lmHead;
    }

    LayerWeights layer(int index) {
        return layers.get(index);
    }

    /** The named weight as the engine holds it now, for checks that training left the base untouched. */
    float[] values(String name) {
        NDArray a = byName.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no base weight named '" + name + "'");
        }
        return a.toFloatArray();
    }
}
