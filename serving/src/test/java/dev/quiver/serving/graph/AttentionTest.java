package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The native attention op ({@code dev.quiver:Attention}) against ONNX Runtime's GroupQueryAttention, which it
 * replaces on the CPU: same inputs, the KV cache bound to the same memory as past and present as the engine binds
 * it, on the steps the engine runs (decode rows at different lengths, a prompt from an empty cache, a prompt
 * chunk after cached positions, a batched prefill), with the output and every cache position compared.
 */
class AttentionTest {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = OnnxMl.TensorProto.DataType.FLOAT16_VALUE;
    private static final int INT32 = OnnxMl.TensorProto.DataType.INT32_VALUE;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private record Case(int heads, int kvHeads, int headDim, int maxLen, int newTokens, int... past) {
        int rows() {
            return past.length;
        }

        @Override
        public String toString() {
            return "heads " + heads + "/" + kvHeads + " d " + headDim + " new " + newTokens + " past "
                    + java.util.Arrays.toString(past);
        }
    }

    private static final List<Case> CASES = List.of(
            new Case(4, 2, 16, 32, 1, 0, 5, 17, 31),     // decode rows at different lengths, one filling the cache
            new Case(4, 2, 16, 32, 7, 0),                // a prompt from an empty cache
            new Case(4, 2, 16, 32, 5, 9),                // a prompt chunk after cached positions
            new Case(2, 2, 64, 24, 4, 0, 0),             // a batched prefill; one query head per KV head
            new Case(16, 8, 128, 193, 1, 128),           // Qwen3-0.6B's heads, batch-1 decode over 128 positions
            new Case(6, 2, 32, 20, 3, 2));               // three query heads per KV head

    /** Every kernel set this CPU runs, by the op's attribute isa (null: the op's own choice). */
    private static List<String> isas() {
        List<String> isas = new java.util.ArrayList<>(java.util.Arrays.asList(null, "generic"));
        if (QuiverOps.cpuHas(QuiverOps.X86_64_V3)) {
            isas.add("v3");
        }
        if (QuiverOps.cpuHas(QuiverOps.X86_64_V4)) {
            isas.add("v4");
        }
        return isas;
    }

    @Test
    void theNativeOpAttendsAsGroupQueryAttentionDoes() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(17);
        for (Case c : CASES) {
            Map<String, float[]> in = inputs(c, random);
            Map<String, float[]> expected = run(c, in, "GroupQueryAttention", null, true, false);
            for (String isa : isas()) {
                for (boolean shared : new boolean[] {true, false}) {
                    Map<String, float[]> actual = run(c, in, "Attention", isa, shared, false);
                    String what = c + " isa " + isa + (shared ? " shared cache" : " separate present");
                    assertClose(actual.get("out"), expected.get("out"), what + " output", 1e-4f);
                    assertCacheClose(c, actual.get("present_key"), expected.get("present_key"), what + " keys",
                            1e-4f);
                    assertCacheClose(c, actual.get("present_value"), expected.get("present_value"), what + " values",
                            1e-4f);
                }
            }
        }
    }

    /**
     * AttentionFp16 against GroupQueryAttention over the same cache rounded to fp16: the op also rounds the new
     * tokens' keys (after rotary) and values as it writes them, so the output and the cache are compared at fp16's
     * precision.
     */
    @Test
    void theFp16CacheOpAttendsAsGroupQueryAttentionOverTheRoundedCache() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(23);
        for (Case c : CASES) {
            Map<String, float[]> in = inputs(c, random);
            in.put("past_key", rounded(in.get("past_key")));
            in.put("past_value", rounded(in.get("past_value")));
            Map<String, float[]> expected = run(c, in, "GroupQueryAttention", null, true, false);
            for (String isa : isas()) {
                for (boolean shared : new boolean[] {true, false}) {
                    Map<String, float[]> actual = run(c, in, "AttentionFp16", isa, shared, true);
                    String what = c + " fp16 isa " + isa + (shared ? " shared cache" : " separate present");
                    assertClose(actual.get("out"), expected.get("out"), what + " output", 2e-3f);
                    assertCacheClose(c, actual.get("present_key"), expected.get("present_key"), what + " keys",
                            1e-3f);
                    assertCacheClose(c, actual.get("present_value"), expected.get("present_value"),
                            what + " values", 1e-3f);
                }
            }
        }
    }

    /**
     * The decoder's form of the op: token rows in and out, and Qwen3's per-head q/k RMSNorm inside, against the
     * nodes it replaces (Reshape, SimplifiedLayerNormalization and Reshape on q and k, then GroupQueryAttention);
     * q, k and v as three inputs, or packed in one (a stacked projection's output).
     */
    @Test
    void tokenRowsWithHeadNormsAttendAsTheNormNodesAndGroupQueryAttentionDo() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(29);
        for (Case c : List.of(CASES.get(0), CASES.get(2), CASES.get(3), CASES.get(4))) {
            Map<String, float[]> in = inputs(c, random);
            float[] qNorm = random(c.headDim(), random);
            float[] kNorm = random(c.headDim(), random);
            Map<String, float[]> expected = runNormed(c, in, qNorm, kNorm, "GroupQueryAttention", null, false);
            for (String isa : isas()) {
                for (boolean packed : new boolean[] {false, true}) {
                    Map<String, float[]> actual = runNormed(c, in, qNorm, kNorm, "Attention", isa, packed);
                    String what = c + " token rows" + (packed ? " packed" : "") + ", head norms, isa " + isa;
                    assertClose(actual.get("out"), expected.get("out"), what + " output", 1e-4f);
                    assertCacheClose(c, actual.get("present_key"), expected.get("present_key"), what + " keys", 1e-4f);
                    assertCacheClose(c, actual.get("present_value"), expected.get("present_value"), what + " values",
                            1e-4f);
                }
            }
        }
    }

    @Test
    void aRowLongerThanTheCacheIsAnError() throws Exception {
        assumeNative();
        Case c = new Case(4, 2, 16, 8, 4, 6);
        Map<String, float[]> in = inputs(c, new SplittableRandom(1));
        assertThatThrownBy(() -> run(c, in, "Attention", null, true, false))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("seqlens_k[r] + 1 must be at least the new tokens and at most max_len");
    }

    private static void assumeNative() {
        assumeTrue(QuiverOps.library().isPresent(), "no Quiver ops library for " + QuiverOps.platform());
    }

    private static Map<String, float[]> inputs(Case c, SplittableRandom random) {
        Map<String, float[]> in = new HashMap<>();
        int tokens = c.rows() * c.newTokens();
        in.put("q", random(tokens * c.heads() * c.headDim(), random));
        in.put("k", random(tokens * c.kvHeads() * c.headDim(), random));
        in.put("v", random(tokens * c.kvHeads() * c.headDim(), random));
        int cache = c.rows() * c.kvHeads() * c.maxLen() * c.headDim();
        in.put("past_key", random(cache, random)); // positions past the cached ones hold stale values: unread
        in.put("past_value", random(cache, random));
        int half = c.headDim() / 2;
        float[] cos = new float[c.maxLen() * half];
        float[] sin = new float[c.maxLen() * half];
        for (int p = 0; p < c.maxLen(); p++) {
            for (int j = 0; j < half; j++) {
                double angle = p * Math.pow(10000, -2.0 * j / c.headDim());
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
        in.put("cos", cos);
        in.put("sin", sin);
        return in;
    }

    /**
     * One {@code op} node; {@code shared}: present bound to past's tensors, as DecoderSession binds them; {@code half}:
     * the cache in fp16.
     */
    private static Map<String, float[]> run(Case c, Map<String, float[]> in, String op, String isa, boolean shared,
                                            boolean half) throws OrtException {
        GraphBuilder g = new GraphBuilder("attention");
        int d = c.headDim();
        int cacheType = half ? FLOAT16 : FLOAT;
        g.input("q", FLOAT, "b", "s", (long) c.heads() * d);
        g.input("k", FLOAT, "b", "s", (long) c.kvHeads() * d);
        g.input("v", FLOAT, "b", "s", (long) c.kvHeads() * d);
        g.input("past_key", cacheType, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.input("past_value", cacheType, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.input("seqlens_k", INT32, "b");
        g.input("total_sequence_length", INT32);
        g.input("cos", FLOAT, (long) c.maxLen(), (long) d / 2);
        g.input("sin", FLOAT, (long) c.maxLen(), (long) d / 2);
        List<GraphBuilder.Attr> attrs = new ArrayList<>(List.of(GraphBuilder.Attr.i("num_heads", c.heads()),
                GraphBuilder.Attr.i("kv_num_heads", c.kvHeads()), GraphBuilder.Attr.f("scale",
                        (float) (1 / Math.sqrt(d)))));
        if (op.equals("GroupQueryAttention")) {
            attrs.add(GraphBuilder.Attr.i("do_rotary", 1));
            attrs.add(GraphBuilder.Attr.i("rotary_interleaved", 0));
        }
        if (isa != null) {
            attrs.add(new GraphBuilder.Attr(OnnxMl.AttributeProto.newBuilder().setName("isa")
                    .setType(OnnxMl.AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(isa)).build()));
        }
        g.node(op, op.startsWith("Attention") ? GraphBuilder.QUIVER_DOMAIN : GraphBuilder.MS_DOMAIN,
                List.of("q", "k", "v", "past_key", "past_value", "seqlens_k", "total_sequence_length", "cos", "sin"),
                List.of("attn", "present_key", "present_value"), attrs.toArray(GraphBuilder.Attr[]::new));
        g.op("Identity", List.of("attn"), "out");
        g.output("out", FLOAT, "b", "s", (long) c.heads() * d);
        g.output("present_key", cacheType, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.output("present_value", cacheType, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        int[] seqlens = new int[c.rows()];
        int total = 0;
        for (int r = 0; r < c.rows(); r++) {
            seqlens[r] = c.past()[r] + c.newTokens() - 1;
            total = Math.max(total, seqlens[r] + 1);
        }
        long[] rows3 = {c.rows(), c.newTokens()};
        long[] cache = {c.rows(), c.kvHeads(), c.maxLen(), d};
        Map<String, OnnxTensor> tensors = new HashMap<>();
        Map<String, OnnxTensor> outputs = new HashMap<>();
        try (OrtSession.SessionOptions options = SessionSettings.cpu(2).options();
             OrtSession session = ENV.createSession(g.build("test").modelBytes(), options)) {
            tensors.put("q", tensor(in.get("q"), rows3[0], rows3[1], (long) c.heads() * d));
            tensors.put("k", tensor(in.get("k"), rows3[0], rows3[1], (long) c.kvHeads() * d));
            tensors.put("v", tensor(in.get("v"), rows3[0], rows3[1], (long) c.kvHeads() * d));
            tensors.put("past_key", cacheTensor(in.get("past_key"), half, cache));
            tensors.put("past_value", cacheTensor(in.get("past_value"), half, cache));
            tensors.put("seqlens_k", OnnxTensor.createTensor(ENV, IntBuffer.wrap(seqlens), new long[] {c.rows()}));
            tensors.put("total_sequence_length", OnnxTensor.createTensor(ENV, IntBuffer.wrap(new int[] {total}),
                    new long[] {}));
            tensors.put("cos", tensor(in.get("cos"), c.maxLen(), d / 2));
            tensors.put("sin", tensor(in.get("sin"), c.maxLen(), d / 2));
            if (shared) {
                outputs.put("present_key", tensors.get("past_key"));
                outputs.put("present_value", tensors.get("past_value"));
            } else {
                outputs.put("present_key", cacheTensor(new float[in.get("past_key").length], half, cache));
                outputs.put("present_value", cacheTensor(new float[in.get("past_value").length], half, cache));
            }
            try (OrtSession.Result result = session.run(tensors, java.util.Set.of("out"), outputs)) {
                Map<String, float[]> out = new HashMap<>();
                out.put("out", values((OnnxTensor) result.get("out").orElseThrow()));
                out.put("present_key", values(outputs.get("present_key")));
                out.put("present_value", values(outputs.get("present_value")));
                return out;
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
            if (!shared) {
                outputs.values().forEach(OnnxTensor::close);
            }
        }
    }

    /**
     * q, k and v as token rows {@code [rows * newTokens, width]}, q and k RMS-normed per head with weights qNorm and
     * kNorm: inside Quiver's op, or as nodes before GroupQueryAttention (whose output is then reshaped to rows).
     * {@code packed}: one input holds them, each row q's values, then k's, then v's, and Quiver's op reads it as all
     * three.
     */
    private static Map<String, float[]> runNormed(Case c, Map<String, float[]> in, float[] qNorm, float[] kNorm,
                                                  String op, String isa, boolean packed) throws OrtException {
        GraphBuilder g = new GraphBuilder("attention");
        int d = c.headDim();
        long tokens = (long) c.rows() * c.newTokens();
        int qWidth = c.heads() * d;
        int kvWidth = c.kvHeads() * d;
        if (packed) {
            g.input("qkv", FLOAT, "t", (long) qWidth + 2L * kvWidth);
        } else {
            g.input("q", FLOAT, "t", (long) qWidth);
            g.input("k", FLOAT, "t", (long) kvWidth);
            g.input("v", FLOAT, "t", (long) kvWidth);
        }
        g.input("past_key", FLOAT, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.input("past_value", FLOAT, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.input("seqlens_k", INT32, "b");
        g.input("total_sequence_length", INT32);
        g.input("cos", FLOAT, (long) c.maxLen(), (long) d / 2);
        g.input("sin", FLOAT, (long) c.maxLen(), (long) d / 2);
        g.input("q_norm", FLOAT, (long) d);
        g.input("k_norm", FLOAT, (long) d);
        List<GraphBuilder.Attr> attrs = new ArrayList<>(List.of(GraphBuilder.Attr.i("num_heads", c.heads()),
                GraphBuilder.Attr.i("kv_num_heads", c.kvHeads()), GraphBuilder.Attr.f("scale",
                        (float) (1 / Math.sqrt(d)))));
        List<String> cache = List.of("past_key", "past_value", "seqlens_k", "total_sequence_length", "cos", "sin");
        List<String> outputs = List.of("attn", "present_key", "present_value");
        if (op.equals("GroupQueryAttention")) {
            String sequences = g.constantLongs("sequences", new long[] {c.rows(), c.newTokens(), -1}, 3);
            List<String> inputs = new ArrayList<>();
            for (String[] x : new String[][] {{"q", "q_norm", "" + c.heads()}, {"k", "k_norm", "" + c.kvHeads()},
                    {"v", null, null}}) {
                String rows = x[0];
                if (x[1] != null) {
                    String heads = g.constantLongs(x[0] + "_heads", new long[] {0, Long.parseLong(x[2]), d}, 3);
                    String split = g.op("Reshape", List.of(x[0], heads), x[0] + "_split");
                    rows = x[0] + "_normed";
                    g.node("SimplifiedLayerNormalization", "", List.of(split, x[1]), List.of(rows),
                            GraphBuilder.Attr.i("axis", -1), GraphBuilder.Attr.f("epsilon", 1e-6f));
                }
                inputs.add(g.op("Reshape", List.of(rows, sequences), x[0] + "_seq"));
            }
            inputs.addAll(cache);
            attrs.add(GraphBuilder.Attr.i("do_rotary", 1));
            attrs.add(GraphBuilder.Attr.i("rotary_interleaved", 0));
            g.node(op, GraphBuilder.MS_DOMAIN, inputs, outputs, attrs.toArray(GraphBuilder.Attr[]::new));
            g.op("Reshape", List.of("attn", g.constantLongs("rows", new long[] {tokens, -1}, 2)), "out");
        } else {
            List<String> inputs = new ArrayList<>(packed ? List.of("qkv", "qkv", "qkv") : List.of("q", "k", "v"));
            inputs.addAll(cache);
            inputs.addAll(List.of("q_norm", "k_norm"));
            attrs.add(GraphBuilder.Attr.f("epsilon", 1e-6f));
            if (isa != null) {
                attrs.add(new GraphBuilder.Attr(OnnxMl.AttributeProto.newBuilder().setName("isa")
                        .setType(OnnxMl.AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(isa))
                        .build()));
            }
            g.node(op, GraphBuilder.QUIVER_DOMAIN, inputs, outputs, attrs.toArray(GraphBuilder.Attr[]::new));
            g.op("Identity", List.of("attn"), "out");
        }
        g.output("out", FLOAT, "t", (long) c.heads() * d);
        g.output("present_key", FLOAT, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        g.output("present_value", FLOAT, "b", (long) c.kvHeads(), (long) c.maxLen(), (long) d);
        int[] seqlens = new int[c.rows()];
        int total = 0;
        for (int r = 0; r < c.rows(); r++) {
            seqlens[r] = c.past()[r] + c.newTokens() - 1;
            total = Math.max(total, seqlens[r] + 1);
        }
        long[] cacheShape = {c.rows(), c.kvHeads(), c.maxLen(), d};
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try (OrtSession.SessionOptions options = SessionSettings.cpu(2).options();
             OrtSession session = ENV.createSession(g.build("test").modelBytes(), options)) {
            if (packed) {
                int width = qWidth + 2 * kvWidth;
                float[] qkv = new float[(int) tokens * width];
                for (int t = 0; t < tokens; t++) {
                    System.arraycopy(in.get("q"), t * qWidth, qkv, t * width, qWidth);
                    System.arraycopy(in.get("k"), t * kvWidth, qkv, t * width + qWidth, kvWidth);
                    System.arraycopy(in.get("v"), t * kvWidth, qkv, t * width + qWidth + kvWidth, kvWidth);
                }
                tensors.put("qkv", tensor(qkv, tokens, width));
            } else {
                tensors.put("q", tensor(in.get("q"), tokens, qWidth));
                tensors.put("k", tensor(in.get("k"), tokens, kvWidth));
                tensors.put("v", tensor(in.get("v"), tokens, kvWidth));
            }
            tensors.put("past_key", tensor(in.get("past_key").clone(), cacheShape));
            tensors.put("past_value", tensor(in.get("past_value").clone(), cacheShape));
            tensors.put("seqlens_k", OnnxTensor.createTensor(ENV, IntBuffer.wrap(seqlens), new long[] {c.rows()}));
            tensors.put("total_sequence_length", OnnxTensor.createTensor(ENV, IntBuffer.wrap(new int[] {total}),
                    new long[] {}));
            tensors.put("cos", tensor(in.get("cos"), c.maxLen(), d / 2));
            tensors.put("sin", tensor(in.get("sin"), c.maxLen(), d / 2));
            tensors.put("q_norm", tensor(qNorm, d));
            tensors.put("k_norm", tensor(kNorm, d));
            Map<String, OnnxTensor> outputs2 = Map.of("present_key", tensors.get("past_key"), "present_value",
                    tensors.get("past_value"));
            try (OrtSession.Result result = session.run(tensors, java.util.Set.of("out"), outputs2)) {
                OnnxTensor out = (OnnxTensor) result.get("out").orElseThrow();
                assertThat(out.getInfo().getShape()).isEqualTo(new long[] {tokens, (long) c.heads() * d});
                return Map.of("out", values(out), "present_key", values(tensors.get("past_key")), "present_value",
                        values(tensors.get("past_value")));
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor tensor(float[] values, long... shape) throws OrtException {
        return OnnxTensor.createTensor(ENV, FloatBuffer.wrap(values), shape);
    }

    /** A cache tensor of {@code values} (copied), fp16 when {@code half}. */
    private static OnnxTensor cacheTensor(float[] values, boolean half, long... shape) throws OrtException {
        if (!half) {
            return tensor(values.clone(), shape);
        }
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * Short.BYTES).order(ByteOrder.nativeOrder());
        for (int i = 0; i < values.length; i++) {
            b.putShort(i * Short.BYTES, DType.floatToF16(values[i]));
        }
        return OnnxTensor.createTensor(ENV, b, shape, OnnxJavaType.FLOAT16);
    }

    private static float[] values(OnnxTensor t) {
        if (t.getInfo().type == OnnxJavaType.FLOAT16) {
            ShortBuffer b = t.getShortBuffer();
            float[] v = new float[b.remaining()];
            for (int i = 0; i < v.length; i++) {
                v[i] = DType.f16ToFloat(b.get(i));
            }
            return v;
        }
        FloatBuffer b = t.getFloatBuffer();
        float[] v = new float[b.remaining()];
        b.get(v);
        return v;
    }

    private static float[] rounded(float[] values) {
        float[] r = new float[values.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = DType.f16ToFloat(DType.floatToF16(values[i]));
        }
        return r;
    }

    /** Every cached position (past and new) of every row and KV head; later positions are not the op's. */
    private static void assertCacheClose(Case c, float[] actual, float[] expected, String what, float relative) {
        int d = c.headDim();
        for (int r = 0; r < c.rows(); r++) {
            for (int h = 0; h < c.kvHeads(); h++) {
                int from = (r * c.kvHeads() + h) * c.maxLen() * d;
                int to = from + (c.past()[r] + c.newTokens()) * d;
                assertClose(java.util.Arrays.copyOfRange(actual, from, to),
                        java.util.Arrays.copyOfRange(expected, from, to), what + " row " + r + " head " + h, relative);
            }
        }
    }

    private static void assertClose(float[] actual, float[] expected, String what, float relative) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as(what + " at " + i + ": " + actual[i] + " vs "
                    + expected[i]).isLessThanOrEqualTo(relative / 10 + relative * Math.abs(expected[i]));
        }
    }

    private static float[] random(int n, SplittableRandom random) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return f;
    }
}
