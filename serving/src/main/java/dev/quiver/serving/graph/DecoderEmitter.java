package dev.quiver.serving.graph;

import static dev.quiver.serving.graph.DecoderSignature.INPUT_IDS;
import static dev.quiver.serving.graph.DecoderSignature.LOGITS;
import static dev.quiver.serving.graph.DecoderSignature.LOGIT_POSITIONS;
import static dev.quiver.serving.graph.DecoderSignature.LORA_MASK;
import static dev.quiver.serving.graph.DecoderSignature.SEQLENS_K;
import static dev.quiver.serving.graph.DecoderSignature.TOTAL_SEQUENCE_LENGTH;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.GraphBuilder.Attr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Emits the decoder graph in model order, block by block, following transformers' Llama/Qwen math:
 * RMSNorm {@code x * rsqrt(mean(x^2) + eps) * w}, rotate-half RoPE, per-head q/k RMSNorm before RoPE
 * (Qwen3), q/k/v bias (Qwen2), SwiGLU, attention scale {@code 1/sqrt(head_dim)}, grouped KV heads.
 */
final class DecoderEmitter {
    private static final int FLOAT = DataType.FLOAT.getNumber();
    private static final int INT64 = DataType.INT64.getNumber();
    private static final int INT32 = DataType.INT32.getNumber();
    /** MatMulNBits' compute type: 4 quantizes activations to int8 per block and multiplies in int8 (VNNI). */
    static final int ACCURACY_LEVEL = 4;

    private final GraphBuilder g;
    private final DecoderSignature sig;
    private final ModelConfig c;
    private final WeightLoader weights;
    private final MultiLoraBranch lora;
    private final Quantization quantization;
    private final QuantizedKernel quantizedKernel;
    /** Quiver's quantized linear ops add the adapters themselves (the native LoRA op's fp16 pools). */
    private final boolean fuseAdapters;
    private final AttentionKernel attentionKernel;
    /** The embedding table, quantized, for a tied head to multiply by; null when not quantized. */
    private BlockQuantizer.Quantized embeddingTable;
    /** The embedding table in fp32, for a tied head to multiply by; null when quantized. */
    private ByteBuffer embeddingFloats;
    private String cosCache;
    private String sinCache;
    private String sequenceShape;
    private String tokenRowsShape;

    DecoderEmitter(GraphBuilder g, DecoderSignature sig, WeightLoader weights, Quantization quantization,
                   LoraKernel loraKernel, QuantizedKernel quantizedKernel, AttentionKernel attentionKernel) {
        this.g = g;
        this.sig = sig;
        this.c = sig.config();
        this.weights = weights;
        this.lora = new MultiLoraBranch(g, LORA_MASK, loraKernel, sig.lora().maxRank(), sig.loraPrecision());
        this.fuseAdapters = loraKernel == LoraKernel.NATIVE && sig.loraPrecision() == Precision.FP16;
        this.quantization = quantization;
        this.quantizedKernel = quantizedKernel;
        this.attentionKernel = attentionKernel;
    }

    /** The residual stream with the latest sub-layer output not yet added ({@code pending} null at the start). */
    private record Residual(String stream, String pending) {
    }

    /** A normalised input and the residual sum it was computed from. */
    private record Normed(String normed, String sum) {
    }

    /**
     * The input of a block's linear layers, RMSNorm(stream + pending) times the norm weight {@code weightName}, not
     * emitted yet: a quantized stack that alone reads it adds and normalises in its own op (MatMulQ8Norm), one node
     * fewer.
     */
    private record PreNorm(Residual residual, String weightName) {
    }

    /** A sub-layer's output, and the residual sum its input was normalised from. */
    private record Sublayer(String out, String sum) {
    }

    /** What a fused add-and-norm reads besides A (the pending output): the stream, the norm's weight, and its sum. */
    private record NormInputs(String skip, String gamma, String sum) {
    }

    void emit() throws IOException {
        declareInputs();
        ropeCaches();
        shapes();
        Residual residual = new Residual(embed(), null);
        for (int layer = 0; layer < c.numLayers(); layer++) {
            residual = block(layer, residual);
        }
        lmHead(finalPositions(residual));
    }

    private void declareInputs() {
        g.input(INPUT_IDS, INT64, "batch", "sequence");
        g.input(SEQLENS_K, INT32, "batch");
        g.input(TOTAL_SEQUENCE_LENGTH, INT32);
        g.input(LOGIT_POSITIONS, INT64, "batch", "logit_count");
        g.input(LORA_MASK, FLOAT, "tokens", "lora_width");
        for (int l = 0; l < c.numLayers(); l++) {
            g.input(DecoderSignature.pastKey(l), sig.kvPrecision().onnxType(), "batch", c.numKvHeads(),
                    sig.maxSequenceLength(), c.headDim());
            g.input(DecoderSignature.pastValue(l), sig.kvPrecision().onnxType(), "batch", c.numKvHeads(),
                    sig.maxSequenceLength(), c.headDim());
            for (String m : sig.lora().targetModules()) {
                ModelConfig.LinearShape s = c.linear(m);
                g.input(DecoderSignature.loraA(l, m), sig.loraPrecision().onnxType(), "lora_width", s.in());
                g.input(DecoderSignature.loraB(l, m), sig.loraPrecision().onnxType(), "lora_width", s.out());
            }
        }
    }

    private void ropeCaches() {
        RopeTables rope = RopeTables.of(c, sig.maxSequenceLength());
        cosCache = g.externalFloat("rope.cos_cache", rope.cos(), rope.rows(), rope.columns());
        sinCache = g.externalFloat("rope.sin_cache", rope.sin(), rope.rows(), rope.columns());
    }

    /**
     * Between the embedding and the final norm, activations are token rows {@code [batch * seq, features]}:
     * every linear layer is then one 2-D GEMM whose LoRA update folds into a Gemm's {@code C} input. Only
     * attention (and the final pick of logit positions) reshape to {@code [batch, seq, features]}.
     */
    private void shapes() {
        String ids = g.op("Shape", List.of(INPUT_IDS), "input_ids_shape");
        String last = g.constantLongs("sequence_feature_dim", new long[] {-1}, 1);
        sequenceShape = g.op("Concat", List.of(ids, last), "sequence_shape", Attr.i("axis", 0));
        tokenRowsShape = g.constantLongs("token_rows_shape", new long[] {-1, c.hiddenSize()}, 2);
    }

    private String toSequences(String rows) {
        return g.op("Reshape", List.of(rows, sequenceShape), g.fresh(rows + ".seq"));
    }

    private String toRows(String sequences, int features) {
        String shape = features == c.hiddenSize() ? tokenRowsShape
                : g.constantLongs(g.fresh("rows_shape"), new long[] {-1, features}, 2);
        return g.op("Reshape", List.of(sequences, shape), g.fresh(sequences + ".rows"));
    }

    private String embed() throws IOException {
        String name = "model.embed_tokens.weight";
        if (quantization != Quantization.NONE) {
            embeddingTable = weights.quantized(name, quantization);
            return toRows(quantizedLookup(embeddingTable, name), c.hiddenSize());
        }
        embeddingFloats = weights.asStored(name);
        String table = g.externalFloat(name, embeddingFloats, c.vocabSize(), c.hiddenSize());
        return toRows(g.op("Gather", List.of(table, INPUT_IDS), "embeddings", Attr.i("axis", 0)), c.hiddenSize());
    }

    /** One decoder block in model order: norm, attention, residual, norm, MLP, residual. */
    private Residual block(int layer, Residual in) throws IOException {
        String p = "model.layers." + layer + ".";
        // the previous block's residual add is fused into this norm (SkipSimplifiedLayerNormalization, or the op
        // of the linear layers that read it)
        Sublayer attention = attention(layer, new PreNorm(in, p + "input_layernorm.weight"));
        Sublayer mlp = mlp(layer, new PreNorm(new Residual(attention.sum(), attention.out()),
                p + "post_attention_layernorm.weight"));
        return new Residual(mlp.sum(), mlp.out());
    }

    /** The norm as its own node: {@link #addAndNorm(Residual, String)} of {@code pre}. */
    private Normed addAndNorm(PreNorm pre) throws IOException {
        return addAndNorm(pre.residual(), pre.weightName());
    }

    /** {@code sum = stream + pending; normed = RMSNorm(sum) * w}; only the norm when nothing is pending. */
    private Normed addAndNorm(Residual r, String weightName) throws IOException {
        String gamma = vector(weightName, c.hiddenSize());
        String normed = g.fresh(weightName.replace(".weight", ""));
        if (r.pending() == null) {
            g.node("SimplifiedLayerNormalization", "", List.of(r.stream(), gamma), List.of(normed),
                    Attr.i("axis", -1), Attr.f("epsilon", (float) c.rmsNormEps()));
            return new Normed(normed, r.stream());
        }
        String sum = g.fresh("residual");
        g.node("SkipSimplifiedLayerNormalization", GraphBuilder.MS_DOMAIN, List.of(r.pending(), r.stream(), gamma),
                List.of(normed, "", "", sum), Attr.f("epsilon", (float) c.rmsNormEps()));
        return new Normed(normed, sum);
    }

    /**
     * Self-attention over the KV cache, rotary applied inside the op (positions come from seqlens_k, so past tokens
     * keep theirs). Quiver's op reads token rows and applies Qwen3's per-head q/k norms itself: eight nodes fewer
     * per layer than GroupQueryAttention, which needs {@code [batch, seq, features]} and the norms as nodes. It also
     * reads a quantized q/k/v stack's output packed, one row's q, k and v side by side, so no Split is needed.
     */
    private Sublayer attention(int layer, PreNorm pre) throws IOException {
        String p = "model.layers." + layer + ".self_attn.";
        List<String> modules = List.of("q_proj", "k_proj", "v_proj");
        List<String> qkv;
        String sum;
        if (quantization == Quantization.NONE) {
            Normed x = addAndNorm(pre);
            qkv = List.of(linear(layer, "q_proj", x.normed()), linear(layer, "k_proj", x.normed()),
                    linear(layer, "v_proj", x.normed()));
            sum = x.sum();
        } else {
            Stack stack = stack(layer, modules, pre);
            // Quiver's op reads a complete stack's output as q, k and v, packed as it is: no Split node
            boolean packed = attentionKernel == AttentionKernel.NATIVE && complete(stack);
            qkv = packed ? List.of(stack.y(), stack.y(), stack.y()) : split(layer, stack);
            sum = stack.sum();
        }
        String q = qkv.get(0);
        String k = qkv.get(1);
        String v = qkv.get(2);
        String out = p + "attention";
        List<String> cache = List.of(DecoderSignature.pastKey(layer), DecoderSignature.pastValue(layer), SEQLENS_K,
                TOTAL_SEQUENCE_LENGTH, cosCache, sinCache);
        List<String> outputs = List.of(out, DecoderSignature.presentKey(layer), DecoderSignature.presentValue(layer));
        Attr heads = Attr.i("num_heads", c.numHeads());
        Attr kvHeads = Attr.i("kv_num_heads", c.numKvHeads());
        Attr scale = Attr.f("scale", (float) (1.0 / Math.sqrt(c.headDim())));
        if (attentionKernel == AttentionKernel.NATIVE) {
            List<String> inputs = new java.util.ArrayList<>(List.of(q, k, v));
            inputs.addAll(cache);
            List<Attr> attrs = new java.util.ArrayList<>(List.of(heads, kvHeads, scale));
            if (c.qkNorm()) {
                inputs.add(vector(p + "q_norm.weight", c.headDim()));
                inputs.add(vector(p + "k_norm.weight", c.headDim()));
                attrs.add(Attr.f("epsilon", (float) c.rmsNormEps()));
            }
            g.node(sig.kvPrecision() == Precision.FP16 ? "AttentionFp16" : "Attention", GraphBuilder.QUIVER_DOMAIN,
                    inputs, outputs, attrs.toArray(Attr[]::new));
        } else {
            if (sig.kvPrecision() != Precision.FP32) {
                throw new IllegalArgumentException("an fp16 KV cache needs the native attention op");
            }
            if (c.qkNorm()) {
                q = headNorm(q, p + "q_norm.weight", c.numHeads());
                k = headNorm(k, p + "k_norm.weight", c.numKvHeads());
            }
            List<String> inputs = new java.util.ArrayList<>(List.of(toSequences(q), toSequences(k), toSequences(v)));
            inputs.addAll(cache);
            g.node("GroupQueryAttention", GraphBuilder.MS_DOMAIN, inputs, outputs, heads, kvHeads,
                    Attr.i("do_rotary", 1), Attr.i("rotary_interleaved", 0), scale);
            out = toRows(out, c.numHeads() * c.headDim());
        }
        g.output(DecoderSignature.presentKey(layer), sig.kvPrecision().onnxType(), "batch", c.numKvHeads(),
                sig.maxSequenceLength(), c.headDim());
        g.output(DecoderSignature.presentValue(layer), sig.kvPrecision().onnxType(), "batch", c.numKvHeads(),
                sig.maxSequenceLength(), c.headDim());
        return new Sublayer(linear(layer, "o_proj", out), sum);
    }

    /**
     * Qwen3's RMSNorm over each head's {@code head_dim} values, before RoPE; returns {@code [tokens, heads, head_dim]},
     * which {@link #toSequences} reshapes for attention as it is (one Reshape fewer per norm: every node costs a few
     * microseconds at decode).
     */
    private String headNorm(String x, String weightName, int heads) throws IOException {
        String gamma = vector(weightName, c.headDim());
        String shape = g.constantLongs(g.fresh("heads_shape"), new long[] {0, heads, c.headDim()}, 3);
        String split = g.op("Reshape", List.of(x, shape), g.fresh(weightName + ".in"));
        String normed = g.fresh(weightName + ".out");
        g.node("SimplifiedLayerNormalization", "", List.of(split, gamma), List.of(normed),
                Attr.i("axis", -1), Attr.f("epsilon", (float) c.rmsNormEps()));
        return normed;
    }

    /**
     * SwiGLU: {@code down(silu(gate(x)) * up(x))}. Where Quiver's op multiplies by the down projection and neither
     * the gate/up stack nor the down projection needs a node of its own for adapters, the down projection's op takes
     * the stacked gate/up output and forms the product itself: four nodes fewer per layer (Split, and Sigmoid, Mul
     * and Mul, which ONNX Runtime fuses to QuickGelu and Mul).
     */
    private Sublayer mlp(int layer, PreNorm pre) throws IOException {
        List<String> modules = List.of("gate_proj", "up_proj");
        if (quantization == Quantization.NONE) {
            Normed x = addAndNorm(pre);
            return new Sublayer(linear(layer, "down_proj", swiglu(linear(layer, "gate_proj", x.normed()),
                    linear(layer, "up_proj", x.normed()))), x.sum());
        }
        BlockQuantizer.Quantized down = weights.quantized(ModelConfig.modulePath(layer, "down_proj") + ".weight",
                quantization);
        Stack gateUp = stack(layer, modules, pre);
        if (nativeQuantized(down) && complete(gateUp) && (fusesAdapters(down) || !sig.lora().targets("down_proj"))) {
            return new Sublayer(quantizedLinear(layer, "down_proj", gateUp.y(), down, true), gateUp.sum());
        }
        List<String> parts = split(layer, gateUp);
        return new Sublayer(quantizedLinear(layer, "down_proj", swiglu(parts.get(0), parts.get(1)), down, false),
                gateUp.sum());
    }

    private String swiglu(String gate, String up) {
        String sigmoid = g.op("Sigmoid", List.of(gate), g.fresh("gate_sigmoid"));
        String silu = g.op("Mul", List.of(gate, sigmoid), g.fresh("gate_silu"));
        return g.op("Mul", List.of(silu, up), g.fresh("swiglu"));
    }

    /**
     * Linear layers of one block that all read the same input (q/k/v, gate/up), quantized: one op over their weights
     * stacked along rows. At batch 1 every op costs some microseconds besides its weight read, whatever its size
     * (DecodeProfile), so one op per stack saves three of the seven per block. Same results: each output column is its
     * own row's blocks either way.
     *
     * @param name    the stack's name, its modules' paths joined by "+"
     * @param y       the stacked output, {@code [tokens, sum of widths]}
     * @param widths  each module's output columns, in order
     * @param fused   whether the op added the modules' adapters (Quiver's op, every module targeted)
     * @param x       the normalised input, which MultiLora nodes after the stack read; null where the op normalised
     *                it itself (then no such node follows)
     * @param sum     the residual sum the input was normalised from
     */
    private record Stack(String name, String y, List<String> modules, long[] widths, boolean fused, String x,
                         String sum) {
    }

    private Stack stack(int layer, List<String> modules, PreNorm pre) throws IOException {
        List<String> parts = new java.util.ArrayList<>();
        long[] widths = new long[modules.size()];
        for (int i = 0; i < modules.size(); i++) {
            parts.add(ModelConfig.modulePath(layer, modules.get(i)) + ".weight");
            widths[i] = c.linear(modules.get(i)).out();
        }
        String name = ModelConfig.modulePath(layer, modules.get(0)) + "+"
                + String.join("+", modules.subList(1, modules.size()));
        BlockQuantizer.Quantized q = weights.quantizedStack(parts, quantization);
        boolean fused = fusesAdapters(q) && modules.stream().allMatch(m -> sig.lora().targets(m));
        boolean adaptersAfter = !fused && modules.stream().anyMatch(m -> sig.lora().targets(m));
        Product p = normedMatMul(pre, adaptersAfter, name + ".weight", q, name + ".out", fused ? layer : -1,
                modules);
        return new Stack(name, p.y(), modules, widths, fused, p.x(), p.sum());
    }

    /** {@link #normedMatMul}'s output, its normalised input (null where the op normalised it), and the sum. */
    private record Product(String y, String x, String sum) {
    }

    /**
     * {@link #quantizedMatMul} of the input {@code pre} describes: Quiver's op adds and normalises itself when there
     * is something pending and {@code inputRead} is false (no other node reads the normalised input); otherwise the
     * norm is a node of its own.
     */
    private Product normedMatMul(PreNorm pre, boolean inputRead, String name, BlockQuantizer.Quantized q, String out,
                                 int layer, List<String> modules) throws IOException {
        Residual r = pre.residual();
        if (nativeQuantized(q) && r.pending() != null && !inputRead) {
            NormInputs norm = new NormInputs(r.stream(), vector(pre.weightName(), c.hiddenSize()),
                    g.fresh("residual"));
            return new Product(quantizedMatMul(r.pending(), name, q, out, layer, modules, false, norm), null,
                    norm.sum());
        }
        Normed x = addAndNorm(pre);
        return new Product(quantizedMatMul(x.normed(), name, q, out, layer, modules, false, null), x.normed(),
                x.sum());
    }

    /** Whether a stack's output needs no node per module: no bias, and its adapters added by the op, or none. */
    private boolean complete(Stack s) {
        return s.modules().stream().noneMatch(this::hasBias)
                && (s.fused() || s.modules().stream().noneMatch(m -> sig.lora().targets(m)));
    }

    /** The stack's output per module (Split), each with its bias and, unless the op added them, its adapters. */
    private List<String> split(int layer, Stack s) throws IOException {
        List<String> outputs = new java.util.ArrayList<>();
        for (String module : s.modules()) {
            outputs.add(ModelConfig.modulePath(layer, module) + ".out");
        }
        g.node("Split", "", List.of(s.y(), g.constantLongs(s.name() + ".split", s.widths(), s.widths().length)),
                outputs, Attr.i("axis", 1));
        List<String> adapted = new java.util.ArrayList<>();
        for (int i = 0; i < s.modules().size(); i++) {
            String biased = biased(layer, s.modules().get(i), outputs.get(i));
            adapted.add(s.fused() ? biased : adapters(layer, s.modules().get(i), s.x(), biased));
        }
        return adapted;
    }

    /** {@code x @ W^T (+ b)} on token rows, plus the multi-LoRA update when the module is targeted. */
    private String linear(int layer, String module, String x) throws IOException {
        String path = ModelConfig.modulePath(layer, module);
        ModelConfig.LinearShape s = c.linear(module);
        if (quantization != Quantization.NONE) {
            return quantizedLinear(layer, module, x, weights.quantized(path + ".weight", quantization), false);
        }
        String w = g.externalFloat(path + ".weight_t", weights.transposed(path + ".weight"), s.in(), s.out());
        return adapters(layer, module, x, biased(layer, module, g.op("MatMul", List.of(x, w), path + ".out")));
    }

    /**
     * {@link #linear} over the quantized weight q. With {@code swiglu}, x is a stacked gate/up output, and Quiver's op
     * multiplies q by silu(gate) * up, adding the module's adapters on that product (the caller checks that it can).
     */
    private String quantizedLinear(int layer, String module, String x, BlockQuantizer.Quantized q, boolean swiglu)
            throws IOException {
        String path = ModelConfig.modulePath(layer, module);
        boolean fused = fusesAdapters(q) && sig.lora().targets(module);
        String y = biased(layer, module, quantizedMatMul(x, path + ".weight", q, path + ".out", fused ? layer : -1,
                List.of(module), swiglu, null));
        return fused ? y : adapters(layer, module, x, y);
    }

    private boolean hasBias(String module) {
        return c.qkvBias() && (module.equals("q_proj") || module.equals("k_proj") || module.equals("v_proj"));
    }

    /** {@code y} plus {@code module}'s bias, where the model has one (Qwen2's q, k and v). */
    private String biased(int layer, String module, String y) throws IOException {
        if (hasBias(module)) {
            String path = ModelConfig.modulePath(layer, module);
            return g.op("Add", List.of(y, vector(path + ".bias", c.linear(module).out())), path + ".biased");
        }
        return y;
    }

    /** {@code y} plus the multi-LoRA update of {@code module} on {@code x}, when the module is targeted. */
    private String adapters(int layer, String module, String x, String y) {
        if (!sig.lora().targets(module)) {
            return y;
        }
        return lora.apply(x, y, DecoderSignature.loraA(layer, module), DecoderSignature.loraB(layer, module),
                ModelConfig.modulePath(layer, module) + ".lora");
    }

    /** Picks the positions that need logits: the last residual add and the final norm read those rows only. */
    private PreNorm finalPositions(Residual r) throws IOException {
        String axes = g.constantLongs("logit_positions_axes", new long[] {2}, 1);
        String index = g.op("Unsqueeze", List.of(LOGIT_POSITIONS, axes), "logit_index");
        String stream = g.op("GatherND", List.of(toSequences(r.stream()), index), "final_stream",
                Attr.i("batch_dims", 1));
        String pending = g.op("GatherND", List.of(toSequences(r.pending()), index), "final_pending",
                Attr.i("batch_dims", 1));
        return new PreNorm(new Residual(stream, pending), "model.norm.weight");
    }

    private void lmHead(PreNorm pre) throws IOException {
        if (quantization != Quantization.NONE) {
            // a tied head multiplies by the embedding's quantized blocks, under initializers of its own
            String name = c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
            BlockQuantizer.Quantized head = c.tieWordEmbeddings() ? embeddingTable
                    : weights.quantized("lm_head.weight", quantization);
            normedMatMul(pre, false, name, head, LOGITS, -1, List.of()); // the sum is not read
        } else {
            String hidden = addAndNorm(pre).normed();
            // [vocab, hidden] used as stored (transB): a tied head shares the embedding table, not a transposed copy,
            // under an initializer of its own. ONNX Runtime maps each initializer of a weights file on its own and
            // prepacks the head, reading every page; were it the lookup's initializer too, that mapping would stay
            // (for the Gather) with the whole table resident beside the packed copy. The quantized lookup's
            // initializers are already its own.
            String head = g.externalFloat("lm_head.weight",
                    c.tieWordEmbeddings() ? embeddingFloats : weights.asStored("lm_head.weight"), c.vocabSize(),
                    c.hiddenSize());
            g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of(hidden, head), List.of(LOGITS),
                    Attr.i("transB", 1), Attr.f("alpha", 1.0f));
        }
        g.output(LOGITS, FLOAT, "batch", "logit_count", c.vocabSize());
    }

    /**
     * The rows {@code INPUT_IDS} pick from a quantized table, dequantized: GatherBlockQuantized over the same bytes
     * as MatMulNBits' B and scales, declared under the 2-D shapes it reads ([rows, in * bits / 8] and
     * [rows, blocks]), which are the same layout when {@code in} is a multiple of the block size.
     */
    private String quantizedLookup(BlockQuantizer.Quantized q, String name) {
        if (q.cols() % q.blockSize() != 0) {
            throw new IllegalArgumentException("hidden size " + q.cols() + " is not a multiple of the quantization"
                    + " block size " + q.blockSize() + ", which the quantized embedding lookup needs");
        }
        List<String> inputs = new java.util.ArrayList<>(List.of(
                g.externalUint8(name + ".q" + q.bits() + ".rows", q.data(), q.rows(), (long) q.cols() * q.bits() / 8),
                INPUT_IDS,
                g.externalFloat(name + ".scales.rows", q.scales(), q.rows(), q.blocksPerRow())));
        if (q.zeroPoints() != null) {
            inputs.add(g.externalUint8(name + ".zero_points.rows", q.unpaddedZeroPoints(), q.rows(),
                    q.zeroPointBytesPerRow()));
        }
        String rows = g.fresh("embeddings");
        g.node("GatherBlockQuantized", GraphBuilder.MS_DOMAIN, inputs, List.of(rows), Attr.i("gather_axis", 0),
                Attr.i("quantize_axis", 1), Attr.i("block_size", q.blockSize()), Attr.i("bits", q.bits()));
        return rows;
    }

    /**
     * Whether {@code q} is multiplied by Quiver's MatMulQ8 or MatMulQ4: the block sizes their VNNI kernels take,
     * which the AVX2 kernels take too.
     */
    private boolean nativeQuantized(BlockQuantizer.Quantized q) {
        boolean native8 = q.bits() == 8 && (q.blockSize() == 64 || q.blockSize() == 128);
        boolean native4 = q.bits() == 4 && q.blockSize() == 32;
        return quantizedKernel == QuantizedKernel.NATIVE && (native8 || native4)
                && q.rows() % BlockQuantizer.RowGroups.ROWS == 0;
    }

    /** Whether the op multiplying by {@code q} also adds its modules' adapters (then no MultiLora node follows). */
    private boolean fusesAdapters(BlockQuantizer.Quantized q) {
        return fuseAdapters && nativeQuantized(q);
    }

    /**
     * {@code x @ W^T} [tokens, out] with W dequantized block by block inside the op, from initializers named after
     * {@code name}: Quiver's MatMulQ8 or MatMulQ4 ({@link #nativeQuantized}) over the weight in its row groups, else
     * MatMulNBits. For a {@code layer} of 0 or more the native op adds the adapters of {@code modules} (q's rows
     * stacked in their order, every one targeted) itself, reading the LoRA mask and each module's pools. (A stack
     * with a module left out keeps its MultiLora nodes: naming no input for it, "", makes ONNX Runtime 1.23's shape
     * inference of custom ops dereference a null type.) With {@code swiglu} (the native op only) x is a stacked
     * gate/up output, and W multiplies silu(gate) * up. With {@code norm} (the native op only, MatMulQ8Norm or
     * MatMulQ4Norm) x is the pending sub-layer output: the op writes x + norm.skip() to norm.sum(), and W multiplies
     * RMSNorm of that sum times norm.gamma(), which the adapters read too.
     */
    private String quantizedMatMul(String x, String name, BlockQuantizer.Quantized q, String out, int layer,
                                   List<String> modules, boolean swiglu, NormInputs norm) {
        if (nativeQuantized(q)) {
            BlockQuantizer.RowGroups groups = q.rowGroups();
            long groupCount = q.rows() / BlockQuantizer.RowGroups.ROWS;
            String codes = g.externalUint8(name + ".q" + q.bits() + "g", groups.codes(), groupCount,
                    q.blocksPerRow(), BlockQuantizer.RowGroups.ROWS, q.blobBytes());
            String scales = q.bits() == 8
                    ? g.externalFloat(name + ".scales.g", groups.scales(), (long) q.rows() * q.blocksPerRow())
                    : g.externalFloat16(name + ".dm.g", groups.scales(), groupCount, q.blocksPerRow(),
                            2L * BlockQuantizer.RowGroups.ROWS);
            List<String> inputs = new java.util.ArrayList<>(List.of(x, codes, scales));
            List<Attr> attrs = new java.util.ArrayList<>(List.of(Attr.i("K", q.cols()), Attr.i("N", q.rows()),
                    Attr.i("bits", q.bits()), Attr.i("block_size", q.blockSize())));
            List<String> outputs = new java.util.ArrayList<>(List.of(out));
            if (norm != null) {
                inputs.addAll(List.of(norm.skip(), norm.gamma()));
                attrs.add(Attr.f("epsilon", (float) c.rmsNormEps()));
                outputs.add(norm.sum());
            }
            if (layer >= 0) {
                inputs.add(LORA_MASK);
                long[] widths = new long[modules.size()];
                for (int i = 0; i < modules.size(); i++) {
                    inputs.add(DecoderSignature.loraA(layer, modules.get(i)));
                    inputs.add(DecoderSignature.loraB(layer, modules.get(i)));
                    widths[i] = c.linear(modules.get(i)).out();
                }
                attrs.add(Attr.ints("lora_parts", widths));
                attrs.add(Attr.i("lora_rank", sig.lora().maxRank()));
            }
            if (swiglu) {
                attrs.add(Attr.s("activation", "swiglu"));
            }
            g.node("MatMulQ" + q.bits() + (norm != null ? "Norm" : ""), GraphBuilder.QUIVER_DOMAIN, inputs, outputs,
                    attrs.toArray(Attr[]::new));
            return out;
        }
        if (swiglu || norm != null) {
            throw new IllegalStateException("only Quiver's MatMulQ forms SwiGLU's product or a norm itself");
        }
        List<String> inputs = new java.util.ArrayList<>(List.of(x,
                g.externalUint8(name + ".q" + q.bits(), q.data(), q.rows(), q.blocksPerRow(), q.blobBytes()),
                g.externalFloat(name + ".scales", q.scales(), (long) q.rows() * q.blocksPerRow())));
        if (q.zeroPoints() != null) {
            inputs.add(g.externalUint8(name + ".zero_points", q.zeroPoints(),
                    (long) q.rows() * q.zeroPointBytesPerRow()));
        }
        g.node("MatMulNBits", GraphBuilder.MS_DOMAIN, inputs, List.of(out),
                Attr.i("K", q.cols()), Attr.i("N", q.rows()), Attr.i("bits", q.bits()),
                Attr.i("block_size", q.blockSize()), Attr.i("accuracy_level", ACCURACY_LEVEL));
        return out;
    }

    private String vector(String name, int length) throws IOException {
        return g.externalFloat(name, weights.asStored(name), length);
    }
}
