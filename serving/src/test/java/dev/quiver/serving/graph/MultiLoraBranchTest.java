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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The native LoRA op ({@code dev.quiver:MultiLora}) against the ONNX formulation it replaces, and both against
 * the sum written out here: same inputs, every mask shape the engine binds (rows on different slots, base rows,
 * no slot bound) and the general ones the op must still get right (a row on two slots, partial masks), on sizes
 * that are not multiples of the op's vector width or row blocking.
 */
class MultiLoraBranchTest {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private record Case(int tokens, int in, int out, int rank, int slots, float[] mask) {
        int width() {
            return rank * slots;
        }
    }

    /** Each row's slot, -1 for a base row: the mask the engine binds (1 on the row's slot's rank columns). */
    private static float[] slotMask(int rank, int slots, int... rowSlots) {
        float[] m = new float[rowSlots.length * rank * slots];
        for (int t = 0; t < rowSlots.length; t++) {
            if (rowSlots[t] >= 0) {
                for (int r = 0; r < rank; r++) {
                    m[t * rank * slots + rowSlots[t] * rank + r] = 1f;
                }
            }
        }
        return m;
    }

    private static Case engineCase(int in, int out, int rank, int slots, int... rowSlots) {
        return new Case(rowSlots.length, in, out, rank, slots, slotMask(rank, slots, rowSlots));
    }

    /** The masks the engine binds, on sizes that are and are not multiples of the op's blocking. */
    private static final List<Case> ENGINE_CASES = List.of(
            engineCase(64, 96, 16, 4, 0, 1, 2, 3, 0, 1, 2, 3),        // a decode step over four adapters
            engineCase(37, 53, 6, 3, 2, -1, 0, 2, 2, -1, 0),          // odd sizes, base rows among them
            engineCase(45, 27, 5, 2, 1, 0, 1, 1, 0),                  // an odd rank: a shrink tile's remainder
            engineCase(48, 80, 4, 1, 0),                              // batch 1 on one adapter
            engineCase(40, 130, 8, 1, new int[20]),                   // a prefill chunk on one slot (2 tasks)
            engineCase(32, 32, 4, 2, -1, -1, -1),                     // slots bound, every row on the base
            new Case(3, 24, 40, 4, 0, new float[0]));                 // no slot bound: width 0

    @Test
    void theNativeOpAddsEachRowsOwnAdapterAsTheOnnxOpsDo() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(7);
        for (Case c : ENGINE_CASES) {
            Map<String, float[]> in = inputs(c, random);
            float[] expected = reference(c, in);
            float[] onnx = run(c, in, LoraKernel.ONNX);
            float[] nat = run(c, in, LoraKernel.NATIVE);
            assertClose(onnx, expected, c + " onnx");
            assertClose(nat, expected, c + " native");
        }
    }

    @Test
    void aRowOnSeveralSlotsOrAPartialMaskIsStillTheMaskedSum() throws Exception {
        assumeNative();
        int rank = 4;
        int slots = 3;
        float[] mask = new float[4 * rank * slots];
        for (int r = 0; r < rank; r++) {
            mask[r] = 1f;                                // row 0: slot 0
            mask[2 * rank + r] = 0.5f;                   // row 0: and slot 2, weighted
        }
        mask[rank * slots + rank + 1] = 1f;              // row 1: one column of slot 1
        mask[2 * rank * slots + 2 * rank + 3] = 2f;      // row 2: the last column of slot 2; row 3: none
        Case c = new Case(4, 20, 36, rank, slots, mask);
        Map<String, float[]> in = inputs(c, new SplittableRandom(3));
        float[] expected = reference(c, in);
        assertClose(run(c, in, LoraKernel.NATIVE), expected, "native");
        assertClose(run(c, in, LoraKernel.ONNX), expected, "onnx");
    }

    @Test
    void fp16PoolsGiveTheSumOfTheirHalfPrecisionValues() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(11);
        for (Case c : ENGINE_CASES) {
            Map<String, float[]> in = inputs(c, random);
            float[] exact = reference(c, in);
            roundPoolsToHalf(in); // the pools as fp16 holds them
            float[] expected = reference(c, in);
            float[] actual = run(c, in, shapes(c), LoraKernel.NATIVE, Precision.FP16);
            assertClose(actual, expected, c + " native fp16");
            boolean adapted = false;
            for (float m : c.mask()) {
                adapted |= m != 0;
            }
            if (adapted) {
                assertThat(actual).as("fp16 rounding shows").isNotEqualTo(exact);
            }
        }
    }

    /** Each instruction set's kernels (the op's test-only attribute isa), where this CPU runs it. */
    @Test
    void everyInstructionSetsKernelsGiveTheSameSum() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(5);
        int ran = 0;
        for (String isa : List.of("v4", "v3", "generic")) {
            for (Case c : ENGINE_CASES) {
                Map<String, float[]> in = inputs(c, random);
                roundPoolsToHalf(in); // values fp16 holds exactly, so both precisions agree
                float[] expected = reference(c, in);
                for (Precision precision : Precision.values()) {
                    float[] actual;
                    try {
                        actual = run(c, in, shapes(c), LoraKernel.NATIVE, precision, isa);
                    } catch (OrtException e) {
                        assertThat(e).hasMessageContaining("one this CPU runs");
                        continue; // this CPU lacks the set
                    }
                    assertClose(actual, expected, c + " " + isa + " " + precision);
                    ran++;
                }
            }
        }
        assertThat(ran).as("the generic kernels run everywhere").isGreaterThanOrEqualTo(2 * ENGINE_CASES.size());
    }

    @Test
    void inputsThatDoNotFitEachOtherAreAnErrorNamingTheShapes() throws Exception {
        assumeNative();
        Case c = engineCase(16, 24, 4, 2, 0, 1);
        Map<String, float[]> in = inputs(c, new SplittableRandom(1));
        Map<String, long[]> shapes = shapes(c);
        shapes.put("a", new long[] {c.width(), c.in() - 1});
        in.put("a", new float[c.width() * (c.in() - 1)]);
        assertThatThrownBy(() -> run(c, in, shapes, LoraKernel.NATIVE))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MultiLora: shapes must be x [t, in], base [t, out], a [w, in], b [w, out]");
    }

    private static void assumeNative() {
        assumeTrue(QuiverOps.library().isPresent(), "no Quiver ops library for " + QuiverOps.platform());
    }

    private static Map<String, float[]> inputs(Case c, SplittableRandom random) {
        Map<String, float[]> in = new HashMap<>();
        in.put("x", random(c.tokens() * c.in(), random));
        in.put("base", random(c.tokens() * c.out(), random));
        in.put("a", random(c.width() * c.in(), random));
        in.put("b", random(c.width() * c.out(), random));
        in.put("mask", c.mask());
        return in;
    }

    /** Replaces the pools' values by the fp16 values nearest them. */
    private static void roundPoolsToHalf(Map<String, float[]> in) {
        for (String pool : List.of("a", "b")) {
            float[] v = in.get(pool);
            for (int i = 0; i < v.length; i++) {
                v[i] = DType.f16ToFloat(DType.floatToF16(v[i]));
            }
        }
    }

    private static Map<String, long[]> shapes(Case c) {
        Map<String, long[]> s = new HashMap<>();
        s.put("x", new long[] {c.tokens(), c.in()});
        s.put("base", new long[] {c.tokens(), c.out()});
        s.put("a", new long[] {c.width(), c.in()});
        s.put("b", new long[] {c.width(), c.out()});
        s.put("mask", new long[] {c.tokens(), c.width()});
        return s;
    }

    /** base + ((x a^T) * mask) b, in double. */
    private static float[] reference(Case c, Map<String, float[]> in) {
        float[] x = in.get("x");
        float[] a = in.get("a");
        float[] b = in.get("b");
        float[] m = in.get("mask");
        float[] y = in.get("base").clone();
        for (int t = 0; t < c.tokens(); t++) {
            for (int w = 0; w < c.width(); w++) {
                double h = 0;
                for (int k = 0; k < c.in(); k++) {
                    h += (double) x[t * c.in() + k] * a[w * c.in() + k];
                }
                h *= m[t * c.width() + w];
                for (int o = 0; o < c.out(); o++) {
                    y[t * c.out() + o] += (float) (h * b[w * c.out() + o]);
                }
            }
        }
        return y;
    }

    private static float[] run(Case c, Map<String, float[]> in, LoraKernel kernel) throws OrtException {
        return run(c, in, shapes(c), kernel);
    }

    private static float[] run(Case c, Map<String, float[]> in, Map<String, long[]> shapes, LoraKernel kernel)
            throws OrtException {
        return run(c, in, shapes, kernel, Precision.FP32);
    }

    private static float[] run(Case c, Map<String, float[]> in, Map<String, long[]> shapes, LoraKernel kernel,
                               Precision precision) throws OrtException {
        return run(c, in, shapes, kernel, precision, null);
    }

    /** {@code isa} null: the op as MultiLoraBranch emits it; else the native op with that kernel set. */
    private static float[] run(Case c, Map<String, float[]> in, Map<String, long[]> shapes, LoraKernel kernel,
                               Precision precision, String isa) throws OrtException {
        GraphBuilder g = new GraphBuilder("multi-lora");
        g.input("x", FLOAT, "tokens", "in");
        g.input("base", FLOAT, "tokens", "out");
        g.input("a", precision.onnxType(), "width", "in_a");
        g.input("b", precision.onnxType(), "width", "out");
        g.input("mask", FLOAT, "tokens", "width");
        // the output of one branch feeds the next in the decoder; an Identity after it checks the output is usable
        String y = "lora.out";
        if (isa == null) {
            y = new MultiLoraBranch(g, "mask", kernel, c.rank(), precision).apply("x", "base", "a", "b", "lora");
        } else {
            g.node(precision == Precision.FP16 ? "MultiLoraFp16" : "MultiLora", GraphBuilder.QUIVER_DOMAIN,
                    List.of("x", "base", "a", "b", "mask"), List.of(y), GraphBuilder.Attr.i("rank", c.rank()),
                    new GraphBuilder.Attr(OnnxMl.AttributeProto.newBuilder().setName("isa")
                            .setType(OnnxMl.AttributeProto.AttributeType.STRING)
                            .setS(ByteString.copyFromUtf8(isa)).build()));
        }
        g.op("Identity", List.of(y), "y");
        g.output("y", FLOAT, "tokens", "out");
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try (OrtSession.SessionOptions options = SessionSettings.cpu(2).options();
             OrtSession session = ENV.createSession(g.build("test").modelBytes(), options)) {
            for (Map.Entry<String, float[]> e : in.entrySet()) {
                boolean pool = e.getKey().equals("a") || e.getKey().equals("b");
                tensors.put(e.getKey(), pool && precision == Precision.FP16
                        ? OnnxTensor.createTensor(ENV, halves(e.getValue()), shapes.get(e.getKey()),
                        OnnxJavaType.FLOAT16)
                        : OnnxTensor.createTensor(ENV, FloatBuffer.wrap(e.getValue()), shapes.get(e.getKey())));
            }
            try (OrtSession.Result result = session.run(tensors)) {
                FloatBuffer values = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[] out = new float[values.remaining()];
                values.get(out);
                return out;
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private static void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as(what + " at " + i + ": " + actual[i] + " vs "
                    + expected[i]).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(expected[i]));
        }
    }

    private static ByteBuffer halves(float[] values) {
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(2, values.length * 2)).order(ByteOrder.nativeOrder());
        for (int i = 0; i < values.length; i++) {
            b.putShort(i * 2, DType.floatToF16(values[i]));
        }
        return b.limit(values.length * 2);
    }

    private static float[] random(int n, SplittableRandom random) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return f;
    }
}
