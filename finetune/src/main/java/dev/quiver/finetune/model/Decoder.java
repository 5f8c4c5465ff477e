package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import dev.quiver.adapters.model.ModelConfig;
import java.util.HashMap;
import java.util.Map;

/**
 * The decoder forward pass of llama, qwen2 and qwen3 in transformers' fp32 math, with LoRA on its
 * linear layers. Families differ only in switches read from {@link ModelConfig}: q/k/v bias and per-head
 * q/k RMSNorm. Arrays it creates belong to the caller's {@code NDScope}, which must stay open until
 * after the backward pass.
 */
final class Decoder {
    private final ModelConfig config;
    private final BaseWeights weights;
    private final NDManager manager;
    private final RotaryTables rotary;
    private final float attentionScale;

    Decoder(ModelConfig config, BaseWeights weights, NDManager manager) {
        this.config = config;
        this.weights = weights;
        this.manager = manager;
        this.rotary = new RotaryTables(config);
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /** The final-normed hidden states, {@code [rows, length, hidden]}. */
    NDArray hidden(Tokens tokens, LoraTensors lora, boolean training) {
        int rows = tokens.rows();
        int len = tokens.length();
        NDArray ids = manager.create(tokens.idsAsLongs(), new Shape(rows, len));
        NDArray mask = manager.create(AttentionMask.of(tokens), new Shape(rows, 1, len, len));
        Pass pass = new Pass(rope(tokens), mask, lora, training, new Scalars(manager));
        NDArray x = Embedding.embedding(ids, weights.embed(), SparseFormat.DENSE).singletonOrThrow();
        for (int l = 0; l < config.numLayers(); l++) {
            x = block(x, l, pass);
        }
        return rmsNorm(x, weights.finalNorm(), pass);
    }

    /** Logits of hidden states, {@code [..., vocab]}. */
    NDArray logits(NDArray hidden) {
        return Linear.linear(hidden, weights.lmHead()).singletonOrThrow();
    }

    private NDArray block(NDArray x, int layer, Pass pass) {
        LayerWeights w = weights.layer(layer);
        NDArray attention = attention(rmsNorm(x, w.inputNorm(), pass), layer, w, pass);
        NDArray h = x.add(attention);
        NDArray mlp = mlp(rmsNorm(h, w.postAttentionNorm(), pass), layer, pass);
        return h.add(mlp);
    }

    private NDArray attention(NDArray x, int layer, LayerWeights w, Pass pass) {
        long rows = x.getShape().get(0);
        long len = x.getShape().get(1);
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        NDArray q = project(x, layer, "q_proj", w.qBias(), pass).reshape(rows, len, heads, d);
        NDArray k = project(x, layer, "k_proj", w.kBias(), pass).reshape(rows, len, kvHeads, d);
        NDArray v = project(x, layer, "v_proj", w.vBias(), pass).reshape(rows, len, kvHeads, d);
        if (config.qkNorm()) {
            // Qwen3 normalises each head before rotating it
            q = rmsNorm(q, w.qNorm(), pass);
            k = rmsNorm(k, w.kNorm(), pass);
        }
        q = pass.rope().apply(q.transpose(0, 2, 1, 3));
        k = repeatKv(pass.rope().apply(k.transpose(0, 2, 1, 3)), heads / kvHeads);
        v = repeatKv(v.transpose(0, 2, 1, 3), heads / kvHeads);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(pass.scalar(attentionScale)).add(pass.mask());
        NDArray context = scores.softmax(-1).matMul(v);
        NDArray merged = context.transpose(0, 2, 1, 3).reshape(rows, len, (long) heads * d);
        return project(merged, layer, "o_proj", null, pass);
    }

    private NDArray mlp(NDArray x, int layer, Pass pass) {
        NDArray gate = project(x, layer, "gate_proj", null, pass);
        NDArray up = project(x, layer, "up_proj", null, pass);
        NDArray silu = gate.mul(Activation.sigmoid(gate));
        return project(silu.mul(up), layer, "down_proj", null, pass);
    }

    /** A frozen linear layer plus its LoRA branch, if the adapter has one: PEFT's {@code lora.Linear.forward}. */
    private NDArray project(NDArray x, int layer, String module, NDArray bias, Pass pass) {
        NDArray weight = weights.layer(layer).weight(module);
        NDArray y = bias == null ? Linear.linear(x, weight).singletonOrThrow()
                : Linear.linear(x, weight, bias).singletonOrThrow();
        LoraTensors lora = pass.lora();
        LoraTensors.Factors f = lora.factors(ModelConfig.modulePath(layer, module));
        if (f == null) {
            return y;
        }
        NDArray in = pass.training() && lora.dropout() > 0
                ? Dropout.dropout(x, lora.dropout(), true).singletonOrThrow() : x;
        NDArray delta = Linear.linear(Linear.linear(in, f.a()).singletonOrThrow(), f.b()).singletonOrThrow();
        return y.add(delta.mul(pass.scalar(f.scale())));
    }

    /** transformers' LlamaRMSNorm in fp32: {@code w * x / sqrt(mean(x^2) + eps)} over the last axis. */
    private NDArray rmsNorm(NDArray x, NDArray weight, Pass pass) {
        NDArray variance = x.square().mean(new int[] {-1}, true);
        return x.div(variance.add(pass.scalar((float) config.rmsNormEps())).sqrt()).mul(weight);
    }

    /** GQA: each key/value head serves {@code groups} consecutive query heads, as transformers' repeat_kv. */
    private static NDArray repeatKv(NDArray kv, int groups) {
        if (groups == 1) {
            return kv;
        }
        Shape s = kv.getShape();
        return kv.expandDims(2).broadcast(s.get(0), s.get(1), groups, s.get(2), s.get(3))
                .reshape(s.get(0), s.get(1) * groups, s.get(2), s.get(3));
    }

    private Rope rope(Tokens tokens) {
        float[][] cs = rotary.cosSin(tokens.positions());
        Shape shape = new Shape(tokens.rows(), 1, tokens.length(), config.headDim());
        return new Rope(manager.create(cs[0], shape), manager.create(cs[1], shape));
    }

    /** What every block of one forward pass shares. */
    private record Pass(Rope rope, NDArray mask, LoraTensors lora, boolean training, Scalars scalars) {
        NDArray scalar(float value) {
            return scalars.of(value);
        }
    }

    /**
     * Scalar operands as arrays that live as long as the pass's scope. DJL's {@code mul(Number)} wraps
     * the number in an array over a Java buffer and closes it right away; autograd keeps that tensor for
     * the backward pass, by which time the buffer may have been collected: random NaN gradients.
     */
    private static final class Scalars {
        private final NDManager manager;
        private final Map<Float, NDArray> arrays = new HashMap<>();

        Scalars(NDManager manager) {
            this.manager = manager;
        }

        NDArray of(float value) {
            return arrays.computeIfAbsent(value, v -> manager.create(v.floatValue()));
        }
    }

    /** cos/sin broadcast over heads, {@code [rows, 1, length, headDim]}. */
    private record Rope(NDArray cos, NDArray sin) {
        /** {@code x * cos + rotate_half(x) * sin} for {@code x} of shape {@code [rows, heads, length, headDim]}. */
        NDArray apply(NDArray x) {
            NDList halves = x.split(2, 3);
            NDArray rotated = NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), 3);
            return x.mul(cos).add(rotated.mul(sin));
        }
    }
}
