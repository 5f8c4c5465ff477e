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
 * q/k RMSNorm. The arrays it returns belong to the caller's {@code NDScope}, which must stay open until
 * after the backward pass; intermediates are closed as soon as they are used (see {@link #closing}).
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
            x = closing(x, block(x, l, pass));
        }
        return closing(x, rmsNorm(x, weights.finalNorm(), pass));
    }

    /** Logits of hidden states, {@code [..., vocab]}. */
    NDArray logits(NDArray hidden) {
        return Linear.linear(hidden, weights.lmHead()).singletonOrThrow();
    }

    /**
     * Returns {@code next} and closes {@code previous}, an intermediate that {@code next} was computed from.
     * Autograd keeps the tensors its backward pass needs by itself; without this the pass's scope would hold
     * every intermediate until the step ends, about twice the memory of an eager PyTorch step.
     */
    private static NDArray closing(NDArray previous, NDArray next) {
        if (previous != next) {
            previous.close();
        }
        return next;
    }

    private NDArray block(NDArray x, int layer, Pass pass) {
        LayerWeights w = weights.layer(layer);
        NDArray h;
        try (NDArray normed = rmsNorm(x, w.inputNorm(), pass);
             NDArray attention = attention(normed, layer, w, pass)) {
            h = x.add(attention);
        }
        try (NDArray normed = rmsNorm(h, w.postAttentionNorm(), pass);
             NDArray mlp = mlp(normed, layer, pass)) {
            return closing(h, h.add(mlp));
        }
    }

    private NDArray attention(NDArray x, int layer, LayerWeights w, Pass pass) {
        long rows = x.getShape().get(0);
        long len = x.getShape().get(1);
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        NDArray q = project(x, layer, "q_proj", w.qBias(), pass);
        q = closing(q, q.reshape(rows, len, heads, d));
        NDArray k = project(x, layer, "k_proj", w.kBias(), pass);
        k = closing(k, k.reshape(rows, len, kvHeads, d));
        NDArray v = project(x, layer, "v_proj", w.vBias(), pass);
        v = closing(v, v.reshape(rows, len, kvHeads, d));
        if (config.qkNorm()) {
            // Qwen3 normalises each head before rotating it
            q = closing(q, rmsNorm(q, w.qNorm(), pass));
            k = closing(k, rmsNorm(k, w.kNorm(), pass));
        }
        q = closing(q, q.transpose(0, 2, 1, 3));
        q = closing(q, pass.rope().apply(q));
        k = closing(k, k.transpose(0, 2, 1, 3));
        k = closing(k, pass.rope().apply(k));
        k = closing(k, repeatKv(k, heads / kvHeads));
        v = closing(v, v.transpose(0, 2, 1, 3));
        v = closing(v, repeatKv(v, heads / kvHeads));
        NDArray scores;
        try (NDArray keysT = k.transpose(0, 1, 3, 2)) {
            scores = q.matMul(keysT);
        }
        q.close();
        k.close();
        scores = closing(scores, scores.mul(pass.scalar(attentionScale)));
        scores = closing(scores, scores.add(pass.mask()));
        NDArray context = closing(scores, scores.softmax(-1));
        context = closing(context, context.matMul(v));
        v.close();
        context = closing(context, context.transpose(0, 2, 1, 3));
        context = closing(context, context.reshape(rows, len, (long) heads * d));
        return closing(context, project(context, layer, "o_proj", null, pass));
    }

    private NDArray mlp(NDArray x, int layer, Pass pass) {
        try (NDArray gate = project(x, layer, "gate_proj", null, pass);
             NDArray up = project(x, layer, "up_proj", null, pass);
             NDArray sigmoid = Activation.sigmoid(gate);
             NDArray silu = gate.mul(sigmoid);
             NDArray product = silu.mul(up)) {
            return project(product, layer, "down_proj", null, pass);
        }
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
        boolean dropout = pass.training() && lora.dropout() > 0;
        NDArray in = dropout ? Dropout.dropout(x, lora.dropout(), true).singletonOrThrow() : x;
        NDArray delta = Linear.linear(in, f.a()).singletonOrThrow();
        if (dropout) {
            in.close();
        }
        delta = closing(delta, Linear.linear(delta, f.b()).singletonOrThrow());
        delta = closing(delta, delta.mul(pass.scalar(f.scale())));
        y = closing(y, y.add(delta));
        delta.close();
        return y;
    }

    /** transformers' LlamaRMSNorm in fp32: {@code w * x / sqrt(mean(x^2) + eps)} over the last axis. */
    private NDArray rmsNorm(NDArray x, NDArray weight, Pass pass) {
        NDArray rms = x.square();
        rms = closing(rms, rms.mean(new int[] {-1}, true));
        rms = closing(rms, rms.add(pass.scalar((float) config.rmsNormEps())));
        rms = closing(rms, rms.sqrt());
        try (NDArray normalised = x.div(rms)) {
            rms.close();
            return normalised.mul(weight);
        }
    }

    /** GQA: each key/value head serves {@code groups} consecutive query heads, as transformers' repeat_kv. */
    private static NDArray repeatKv(NDArray kv, int groups) {
        if (groups == 1) {
            return kv;
        }
        Shape s = kv.getShape();
        try (NDArray expanded = kv.expandDims(2);
             NDArray broadcast = expanded.broadcast(s.get(0), s.get(1), groups, s.get(2), s.get(3))) {
            return broadcast.reshape(s.get(0), s.get(1) * groups, s.get(2), s.get(3));
        }
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
            try (NDList halves = x.split(2, 3);
                 NDArray negated = halves.get(1).neg();
                 NDArray rotated = NDArrays.concat(new NDList(negated, halves.get(0)), 3);
                 NDArray xCos = x.mul(cos);
                 NDArray rotatedSin = rotated.mul(sin)) {
                return xCos.add(rotatedSin);
            }
        }
    }
}
