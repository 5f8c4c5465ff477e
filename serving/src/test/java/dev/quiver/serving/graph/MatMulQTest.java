package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The native int8 and int4 linear ops ({@code dev.quiver:MatMulQ8}, {@code MatMulQ4}) on BlockQuantizer's
 * weights: against the product each defines (activations quantized per row and block as written out here, then
 * exact integer dot products), their AVX-512 VNNI and AVX2 kernels against their portable ones, and all against
 * MatMulNBits at accuracy level 4 on the same quantized weight (the native ops reading it in row groups), on row
 * counts, block sizes and lengths the kernels' tiling does not divide.
 */
class MatMulQTest {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    /** {@code rows} the activation's leading dimensions. */
    private record Case(long[] rows, int k, int n, int block, int bits) {
        Case(long[] rows, int k, int n, int block) {
            this(rows, k, n, block, 8);
        }

        String op() {
            return "MatMulQ" + bits;
        }

        /** The block size the VNNI kernels take. */
        boolean vnniBlock() {
            return bits == 8 ? block == 64 || block == 128 : block == 32;
        }

        /** The block size the AVX2 kernels take. */
        boolean avx2Block() {
            return bits == 8 ? block % 32 == 0 : block == 32;
        }

        int m() {
            int m = 1;
            for (long r : rows) {
                m *= (int) r;
            }
            return m;
        }

        long[] shape(int last) {
            long[] s = java.util.Arrays.copyOf(rows, rows.length + 1);
            s[rows.length] = last;
            return s;
        }

        @Override
        public String toString() {
            return "int" + bits + " m " + java.util.Arrays.toString(rows) + " k " + k + " n " + n + " block " + block;
        }
    }

    private static final List<Case> CASES = List.of(
            new Case(new long[] {1}, 1024, 64, 128),        // a decode step
            new Case(new long[] {3}, 192, 36, 64),          // blocks of 64, three rows
            new Case(new long[] {5}, 100, 20, 128),         // a padded block
            new Case(new long[] {17}, 256, 40, 128),        // a prefill chunk: on ONNX Runtime's threads
            new Case(new long[] {1}, 512, 1024, 128),       // a weight big enough for the threads at one row
            new Case(new long[] {2, 3}, 128, 12, 128),      // the head's [batch, positions, hidden] input
            new Case(new long[] {2}, 96, 8, 32),            // int8 blocks of 32: AVX2 and portable kernels
            new Case(new long[] {3}, 512, 8, 256),          // int8 blocks of 256: AVX2's loop of a variable length
            new Case(new long[] {1}, 1024, 64, 32, 4),      // int4: a decode step
            new Case(new long[] {3}, 96, 36, 32, 4),        // three rows
            new Case(new long[] {5}, 100, 20, 32, 4),       // a padded block
            new Case(new long[] {17}, 256, 40, 32, 4),      // a prefill chunk
            new Case(new long[] {1}, 1024, 1024, 32, 4),    // a weight big enough for the threads at one row
            new Case(new long[] {2, 3}, 128, 12, 32, 4),    // [batch, positions, hidden]
            new Case(new long[] {2}, 128, 8, 64, 4));       // int4 blocks of 64: the portable kernels only

    @Test
    void theOpComputesTheBlockQuantizedProductOnEveryKernel() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(3);
        for (Case c : CASES) {
            float[] x = gaussian(c.m() * c.k(), random, 1.0);
            BlockQuantizer.Quantized q = quantized(c, random);
            double[] expected = reference(c, x, q);
            double[] magnitude = magnitude(c, x, q);
            float[] auto = run(c, x, q, c.op(), null);
            float[] generic = run(c, x, q, c.op(), "generic");
            assertClose(auto, expected, magnitude, 1e-5, c + " default kernels");
            assertClose(generic, expected, magnitude, 1e-5, c + " portable kernels");
            if (hasVnni() && c.vnniBlock()) {
                assertClose(run(c, x, q, c.op(), "vnni"), expected, magnitude, 1e-5, c + " VNNI kernels");
            }
            if (hasAvx2() && c.avx2Block()) {
                assertClose(run(c, x, q, c.op(), "avx2"), expected, magnitude, 1e-5, c + " AVX2 kernels");
            }
            // MatMulNBits quantizes the activations the same way at level 4; its sums run in another order, and
            // with 4 bits its d and m are not rounded to fp16
            assertClose(run(c, x, q, "MatMulNBits", null), expected, magnitude, c.bits() == 8 ? 1e-3 : 3e-3,
                    c + " MatMulNBits");
        }
    }

    /**
     * A node that adds adapters itself (the LoRA mask, and fp16 pools for some of its parts) against the same
     * product followed by MultiLoraFp16 on each part's columns: three token rows on two of three bound slots and
     * one on the base, a stacked weight of three parts of which the last has no pools (the node's inputs end
     * before them: ONNX Runtime 1.23's shape inference of a custom op dereferences an input named "").
     */
    @Test
    void aNodeWithAdaptersAddsWhatMultiLoraWouldAfterIt() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(5);
        int rank = 4;
        int slots = 3;
        int width = rank * slots;
        for (int bits : new int[] {8, 4}) {
            Case c = new Case(new long[] {4}, 256, 48, bits == 8 ? 128 : 32, bits);
            long[] parts = {16, 8, 24};
            float[] x = gaussian(c.m() * c.k(), random, 1.0);
            BlockQuantizer.Quantized q = quantized(c, random);
            float[] mask = new float[c.m() * width];
            int[] slotOf = {0, 2, -1, 0};
            for (int t = 0; t < c.m(); t++) {
                for (int r = 0; slotOf[t] >= 0 && r < rank; r++) {
                    mask[t * width + slotOf[t] * rank + r] = 1;
                }
            }
            float[][] a = new float[parts.length][];
            float[][] b = new float[parts.length][];
            for (int p = 0; p < parts.length; p++) {
                a[p] = p == 2 ? null : gaussian(width * c.k(), random, 0.1);
                b[p] = p == 2 ? null : gaussian(width * (int) parts[p], random, 0.1);
            }
            float[] fused = runWithAdapters(c, x, q, mask, a, b, parts, rank);
            float[] base = run(c, x, q, c.op(), null);
            float[] expected = base.clone();
            int column = 0;
            for (int p = 0; p < parts.length; p++) {
                if (a[p] != null) {
                    float[] part = new float[c.m() * (int) parts[p]];
                    for (int t = 0; t < c.m(); t++) {
                        System.arraycopy(base, t * c.n() + column, part, t * (int) parts[p], (int) parts[p]);
                    }
                    float[] adapted = multiLora(x, part, a[p], b[p], mask, c.m(), c.k(), (int) parts[p], width,
                            rank);
                    for (int t = 0; t < c.m(); t++) {
                        System.arraycopy(adapted, t * (int) parts[p], expected, t * c.n() + column, (int) parts[p]);
                    }
                }
                column += (int) parts[p];
            }
            for (int i = 0; i < expected.length; i++) {
                assertThat(Math.abs(fused[i] - expected[i])).as(c + " at " + i + ": " + fused[i] + " vs "
                        + expected[i]).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(expected[i]));
            }
            assertThat(java.util.Arrays.equals(fused, base)).as("the adapters changed the output").isFalse();
        }
    }

    /**
     * With the attribute activation swiglu the op reads rows of 2 K, a gate then an up projection, and multiplies the
     * weight by silu(gate) * up: against the product the op defines on that activation (computed here in double
     * precision), on every kernel; and with adapters, which then read the product too. The tolerance is looser than
     * above because the op's sigmoid is a polynomial: an activation on a rounding boundary may get the next code.
     */
    @Test
    void theSwigluActivationMultipliesBySiluOfTheGateTimesTheUp() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(11);
        for (Case c : List.of(CASES.get(0), CASES.get(2), CASES.get(3), CASES.get(6), CASES.get(8), CASES.get(11))) {
            float[] gateUp = gaussian(c.m() * 2 * c.k(), random, 2.0);
            float[] product = swiglu(gateUp, c.m(), c.k());
            BlockQuantizer.Quantized q = quantized(c, random);
            double[] expected = reference(c, product, q);
            double[] magnitude = magnitude(c, product, q);
            List<String> isas = new ArrayList<>(java.util.Arrays.asList(null, "generic"));
            if (hasVnni() && c.vnniBlock()) {
                isas.add("vnni");
            }
            if (hasAvx2() && c.avx2Block()) {
                isas.add("avx2");
            }
            for (String isa : isas) {
                assertClose(run(c, gateUp, q, c.k(), c.op(), isa, null, "swiglu"), expected, magnitude, 1e-3,
                        c + " swiglu, isa " + isa);
            }
        }
        for (int bits : new int[] {8, 4}) {
            Case c = new Case(new long[] {3}, 256, 32, bits == 8 ? 128 : 32, bits);
            int rank = 4;
            float[] mask = alternatingSlots(c.m(), rank);
            float[][] a = {gaussian(2 * rank * c.k(), random, 0.1)};
            float[][] b = {gaussian(2 * rank * c.n(), random, 0.1)};
            long[] parts = {c.n()};
            float[] gateUp = gaussian(c.m() * 2 * c.k(), random, 2.0);
            float[] product = swiglu(gateUp, c.m(), c.k());
            BlockQuantizer.Quantized q = quantized(c, random);
            float[] expected = runWithAdapters(c, product, q, mask, a, b, parts, rank);
            float[] actual = runWithAdapters(c, gateUp, q, mask, a, b, parts, rank, "swiglu");
            double[] magnitude = magnitude(c, product, q);
            double[] wide = new double[expected.length];
            for (int i = 0; i < expected.length; i++) {
                wide[i] = expected[i];
            }
            assertClose(actual, wide, magnitude, 1e-3, c + " swiglu with adapters");
            assertThat(java.util.Arrays.equals(expected, run(c, product, q, c.op(), null)))
                    .as("the adapters changed the output").isFalse();
        }
    }

    /**
     * MatMulQ8Norm and MatMulQ4Norm: the sum A + skip as their second output, and the product of RMSNorm(sum) * gamma
     * with the quantized weight, their adapters reading that normalised input too, as the plain op on it.
     */
    @Test
    void theNormOpsAddAndNormaliseTheirInputForTheProductAndTheAdapters() throws Exception {
        assumeNative();
        SplittableRandom random = new SplittableRandom(13);
        for (int bits : new int[] {8, 4}) {
            Case c = new Case(new long[] {3}, 256, 32, bits == 8 ? 128 : 32, bits);
            int rank = 4;
            float[] x = gaussian(c.m() * c.k(), random, 1.0);
            float[] skip = gaussian(c.m() * c.k(), random, 1.0);
            float[] gamma = gaussian(c.k(), random, 1.0);
            float[] sum = new float[x.length];
            float[] normed = new float[x.length];
            for (int t = 0; t < c.m(); t++) {
                double squares = 0;
                for (int j = 0; j < c.k(); j++) {
                    sum[t * c.k() + j] = x[t * c.k() + j] + skip[t * c.k() + j];
                    squares += (double) sum[t * c.k() + j] * sum[t * c.k() + j];
                }
                double inverse = 1 / Math.sqrt(squares / c.k() + EPSILON);
                for (int j = 0; j < c.k(); j++) {
                    normed[t * c.k() + j] = (float) (sum[t * c.k() + j] * inverse * gamma[j]);
                }
            }
            float[] mask = alternatingSlots(c.m(), rank);
            float[][] a = {gaussian(2 * rank * c.k(), random, 0.1)};
            float[][] b = {gaussian(2 * rank * c.n(), random, 0.1)};
            long[] parts = {c.n()};
            BlockQuantizer.Quantized q = quantized(c, random);
            double[] magnitude = magnitude(c, normed, q);
            float[] withAdapters = runWithAdapters(c, normed, q, mask, a, b, parts, rank);
            double[][] expected = {reference(c, normed, q), new double[withAdapters.length]};
            for (int i = 0; i < withAdapters.length; i++) {
                expected[1][i] = withAdapters[i];
            }
            List<float[]> plain = runNorm(c, x, skip, gamma, q, null, a, b, parts, rank);
            List<float[]> adapted = runNorm(c, x, skip, gamma, q, mask, a, b, parts, rank);
            assertClose(plain.get(0), expected[0], magnitude, 1e-3, c + " norm");
            assertClose(adapted.get(0), expected[1], magnitude, 1e-3, c + " norm with adapters");
            assertThat(plain.get(1)).as(c + " norm: the sum").isEqualTo(sum);
            assertThat(adapted.get(1)).as(c + " norm with adapters: the sum").isEqualTo(sum);
            // the adapters' share on its own: read from the normalised input, not from A
            double[] delta = new double[withAdapters.length];
            double[] deltaMagnitude = new double[withAdapters.length];
            float[] adapterShare = new float[withAdapters.length];
            for (int i = 0; i < delta.length; i++) {
                delta[i] = expected[1][i] - expected[0][i];
                deltaMagnitude[i] = Math.abs(delta[i]);
                adapterShare[i] = adapted.get(0)[i] - plain.get(0)[i];
            }
            assertClose(adapterShare, delta, deltaMagnitude, 1e-2, c + " norm: the adapters' share");
            Case none = new Case(new long[] {0}, c.k(), c.n(), c.block(), bits);
            List<float[]> empty = runNorm(none, new float[0], new float[0], gamma, q, null, a, b, parts, rank);
            assertThat(empty).as(none + " norm: no rows, two empty outputs").hasSize(2)
                    .allSatisfy(out -> assertThat(out).isEmpty());
        }
    }

    /** Large beside the rows' mean squares (about 2), so that an op ignoring it would fail. */
    private static final float EPSILON = 0.5f;

    /** A LoRA mask over two slots of {@code rank} columns: even rows on the first, odd rows on the second. */
    private static float[] alternatingSlots(int rows, int rank) {
        float[] mask = new float[rows * 2 * rank];
        for (int t = 0; t < rows; t++) {
            for (int r = 0; r < rank; r++) {
                mask[t * 2 * rank + (t % 2) * rank + r] = 1;
            }
        }
        return mask;
    }

    /** {@code op}Norm on x, skip and gamma, with the LoRA mask and pools when mask is not null: [product, sum]. */
    private static List<float[]> runNorm(Case c, float[] x, float[] skip, float[] gamma, BlockQuantizer.Quantized q,
                                         float[] mask, float[][] a, float[][] b, long[] parts, int rank)
            throws OrtException {
        GraphBuilder g = new GraphBuilder("q");
        g.input("x", FLOAT, "m", (long) c.k());
        g.input("skip", FLOAT, "m", (long) c.k());
        g.input("gamma", FLOAT, (long) c.k());
        BlockQuantizer.RowGroups groups = q.rowGroups();
        List<String> inputs = new ArrayList<>(List.of("x",
                g.externalUint8("w.q", groups.codes(), c.n() / 4, q.blocksPerRow(), 4, q.blobBytes()),
                c.bits() == 8 ? g.externalFloat("w.scales", groups.scales(), (long) c.n() * q.blocksPerRow())
                        : g.externalFloat16("w.dm", groups.scales(), c.n() / 4, q.blocksPerRow(), 8), "skip", "gamma"));
        List<GraphBuilder.Attr> attrs = new ArrayList<>(List.of(GraphBuilder.Attr.i("K", c.k()),
                GraphBuilder.Attr.i("N", c.n()), GraphBuilder.Attr.i("bits", c.bits()),
                GraphBuilder.Attr.i("block_size", c.block()), GraphBuilder.Attr.f("epsilon", EPSILON)));
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            feeds.put("x", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {c.m(), c.k()}));
            feeds.put("skip", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(skip), new long[] {c.m(), c.k()}));
            feeds.put("gamma", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(gamma), new long[] {c.k()}));
            if (mask != null) {
                int lanes = mask.length / c.m();
                g.input("mask", FLOAT, "m", (long) lanes);
                g.input("a0", OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) lanes, (long) c.k());
                g.input("b0", OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) lanes, parts[0]);
                inputs.addAll(List.of("mask", "a0", "b0"));
                feeds.put("mask", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(mask), new long[] {c.m(), lanes}));
                feeds.put("a0", half(a[0], lanes, c.k()));
                feeds.put("b0", half(b[0], lanes, parts[0]));
                attrs.add(GraphBuilder.Attr.ints("lora_parts", parts));
                attrs.add(GraphBuilder.Attr.i("lora_rank", rank));
            }
            g.node(c.op() + "Norm", GraphBuilder.QUIVER_DOMAIN, inputs, List.of("y0", "sum0"),
                    attrs.toArray(GraphBuilder.Attr[]::new));
            g.op("Identity", List.of("y0"), "y");
            g.op("Identity", List.of("sum0"), "sum");
            g.output("y", FLOAT, "m", (long) c.n());
            g.output("sum", FLOAT, "m", (long) c.k());
            return runGraphOutputs(g, feeds);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * A NaN activation quantizes to code -127 and leaves its block's scale to the other values, on the AVX2 kernels as
     * on the portable ones (the AVX2 int8 product cannot take a code of -128): the outputs agree and are finite.
     */
    @Test
    void aNanActivationGetsThePortableKernelsCodeOnAvx2() throws Exception {
        assumeNative();
        assumeTrue(hasAvx2(), "no AVX2 on this CPU");
        SplittableRandom random = new SplittableRandom(13);
        for (Case c : List.of(CASES.get(0), CASES.get(8))) {
            float[] x = gaussian(c.m() * c.k(), random, 1.0);
            for (int i = 5; i < x.length; i += 97) {
                x[i] = Float.NaN;
            }
            BlockQuantizer.Quantized q = quantized(c, random);
            float[] generic = run(c, x, q, c.op(), "generic");
            float[] avx2 = run(c, x, q, c.op(), "avx2");
            for (int i = 0; i < generic.length; i++) {
                assertThat(generic[i]).as(c + " portable output " + i).isFinite();
                assertThat(Math.abs(avx2[i] - generic[i])).as(c + " at " + i + ": " + avx2[i] + " vs " + generic[i])
                        .isLessThanOrEqualTo(1e-4f * (1 + Math.abs(generic[i])));
            }
        }
    }

    /** silu(gate) * up for rows of [gate, up], each k wide, in double precision. */
    private static float[] swiglu(float[] gateUp, int m, int k) {
        float[] h = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                double g = gateUp[i * 2 * k + j];
                h[i * k + j] = (float) (g / (1 + Math.exp(-g)) * gateUp[i * 2 * k + k + j]);
            }
        }
        return h;
    }

    @Test
    void anActivationOfTheWrongWidthIsAnError() throws Exception {
        assumeNative();
        Case c = new Case(new long[] {2}, 128, 8, 128);
        BlockQuantizer.Quantized q = quantized(c, new SplittableRandom(1));
        Case wrong = new Case(new long[] {2}, 64, 8, 128);
        assertThatThrownBy(() -> run(wrong, new float[2 * 64], q, c.k(), "MatMulQ8", null))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: A's last dimension must be the attribute K");
        assertThatThrownBy(() -> run(c, new float[2 * 128], q, c.k(), "MatMulQ8", "v9"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("attribute isa must be vnni");
        assertThatThrownBy(() -> run(c, new float[2 * 128], q, c.k(), "MatMulQ8", null, null, "gelu"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: attribute activation must be swiglu");
        // a string attribute given as a number is as wrong as an unknown name, not absent
        assertThatThrownBy(() -> run(c, new float[2 * 128], q, c.k(), "MatMulQ8", null,
                List.of(GraphBuilder.Attr.i("activation", 1)), 128))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: attribute activation must be swiglu");
        assertThatThrownBy(() -> run(c, new float[2 * 128], q, c.k(), "MatMulQ8", null,
                List.of(GraphBuilder.Attr.s("activation", "swiglu, but longer than any value")), 128))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: attribute activation must be swiglu");
        assertThatThrownBy(() -> run(wrong, new float[2 * 128], q, c.k(), "MatMulQ8", null, null, "swiglu"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: A's last dimension must be twice the attribute K");
        assertThatThrownBy(() -> run(c, new float[2 * 128], q, c.k(), "MatMulQ8", null, "rows"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ8: B must be the codes in row groups, [N / 4, ceil(K / block_size), 4,");
        assertThatThrownBy(() -> new BlockQuantizer(8, 128).quantize((r, dst) -> { }, 6, 128).rowGroups())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("MatMulQ8 takes weights of a multiple of 4 rows");
        Case c4 = new Case(new long[] {2}, 64, 8, 32, 4);
        BlockQuantizer.Quantized q4 = quantized(c4, new SplittableRandom(2));
        assertThatThrownBy(() -> run(c4, new float[2 * 64], q4, c4.k(), "MatMulQ4", null, "rows"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ4: B must be the codes in row groups, [N / 4, ceil(K / block_size), 4,"
                        + " block_size / 2]");
        assertThatThrownBy(() -> run(c4, new float[2 * 64], q4, c4.k(), "MatMulQ4", "vnni16"))
                .isInstanceOf(OrtException.class)
                .hasMessageContaining("MatMulQ4: attribute isa must be vnni");
    }

    private static void assumeNative() {
        assumeTrue(QuiverOps.library().isPresent(), "no Quiver ops library for " + QuiverOps.platform());
    }

    private static boolean hasVnni() throws Exception {
        return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo")).contains(" avx512_vnni");
    }

    private static boolean hasAvx2() {
        return QuiverOps.cpuHas(QuiverOps.X86_64_V3);
    }

    private static BlockQuantizer.Quantized quantized(Case c, SplittableRandom random) throws Exception {
        float[] w = gaussian(c.n() * c.k(), random, 0.05);
        return new BlockQuantizer(c.bits(), c.block()).quantize((r, dst) -> System.arraycopy(w, r * c.k(), dst, 0, c.k()),
                c.n(), c.k());
    }

    /**
     * y[m][n] = sum over blocks of the activations' scale times the weight block's dot product with their codes,
     * the codes rint(x * 127 / max|x|) per row and block, in float as the op computes them. int8:
     * scale_w * sum (code_w - 128) * code_x; int4: d * sum code_w * code_x + m * sum code_x, d and m the block's
     * scale and -zero point * scale each rounded to fp16.
     */
    private static double[] reference(Case c, float[] x, BlockQuantizer.Quantized q) {
        int blocks = q.blocksPerRow();
        double[] y = new double[c.m() * c.n()];
        for (int m = 0; m < c.m(); m++) {
            for (int b = 0; b < blocks; b++) {
                int from = b * c.block();
                int to = Math.min(c.k(), from + c.block());
                float amax = 0;
                for (int k = from; k < to; k++) {
                    amax = Math.max(amax, Math.abs(x[m * c.k() + k]));
                }
                float xs = amax / 127f;
                float inverse = amax > 0 ? 127f / amax : 0f;
                for (int n = 0; n < c.n(); n++) {
                    long dot = 0;
                    long sum = 0;
                    for (int k = from; k < to; k++) {
                        long code = (long) Math.rint(x[m * c.k() + k] * inverse);
                        dot += code * (code(q, n, k) - (c.bits() == 8 ? 128 : 0));
                        sum += code;
                    }
                    float scale = q.scales().getFloat((n * blocks + b) * Float.BYTES);
                    if (c.bits() == 8) {
                        y[m * c.n() + n] += dot * (double) (xs * scale);
                    } else {
                        double d = DType.f16ToFloat(DType.floatToF16(scale));
                        double mn = DType.f16ToFloat(DType.floatToF16(-q.zeroPoint(n, b) * scale));
                        y[m * c.n() + n] += dot * (xs * d) + mn * (xs * sum);
                    }
                }
            }
        }
        return y;
    }

    /** The stored code of weight (n, k). */
    private static int code(BlockQuantizer.Quantized q, int n, int k) {
        int blocks = q.blocksPerRow();
        int base = (n * blocks + k / q.blockSize()) * q.blobBytes();
        int in = k % q.blockSize();
        if (q.bits() == 8) {
            return q.data().get(base + in) & 0xff;
        }
        int packed = q.data().get(base + in / 2) & 0xff;
        return (in & 1) == 0 ? packed & 0x0f : packed >>> 4;
    }

    /** sum |w| |x| per output: the scale the tolerances are relative to. */
    private static double[] magnitude(Case c, float[] x, BlockQuantizer.Quantized q) {
        double[] y = new double[c.m() * c.n()];
        for (int m = 0; m < c.m(); m++) {
            for (int n = 0; n < c.n(); n++) {
                for (int k = 0; k < c.k(); k++) {
                    y[m * c.n() + n] += Math.abs(q.dequantize(n, k) * x[m * c.k() + k]);
                }
            }
        }
        return y;
    }

    private static float[] run(Case c, float[] x, BlockQuantizer.Quantized q, String op, String isa)
            throws OrtException {
        return run(c, x, q, c.k(), op, isa, null);
    }

    private static float[] run(Case c, float[] x, BlockQuantizer.Quantized q, int k, String op, String isa)
            throws OrtException {
        return run(c, x, q, k, op, isa, null);
    }

    /**
     * One {@code op} node over q's initializers, declared for rows of {@code k} inputs; MatMulQ8 reads q in row
     * groups, and MatMulNBits (or MatMulQ8 given {@code layout} "rows") in rows.
     */
    private static float[] run(Case c, float[] x, BlockQuantizer.Quantized q, int k, String op, String isa,
                               String layout) throws OrtException {
        return run(c, x, q, k, op, isa, layout, null);
    }

    /** {@link #run} with the attribute activation when it is not null (then x's rows are 2 K wide). */
    private static float[] run(Case c, float[] x, BlockQuantizer.Quantized q, int k, String op, String isa,
                               String layout, String activation) throws OrtException {
        List<GraphBuilder.Attr> extra = new ArrayList<>();
        if (isa != null) {
            extra.add(GraphBuilder.Attr.s("isa", isa));
        }
        if (activation != null) {
            extra.add(GraphBuilder.Attr.s("activation", activation));
        }
        return run(c, x, q, k, op, layout, extra, activation == null ? c.k() : 2 * c.k());
    }

    /** {@link #run} with the attributes {@code extra} on the node, x's rows {@code width} wide. */
    private static float[] run(Case c, float[] x, BlockQuantizer.Quantized q, int k, String op, String layout,
                               List<GraphBuilder.Attr> extra, int width) throws OrtException {
        GraphBuilder g = new GraphBuilder("q");
        Object[] dims = new Object[c.rows().length + 1];
        for (int i = 0; i < c.rows().length; i++) {
            dims[i] = "d" + i;
        }
        dims[c.rows().length] = (long) width;
        g.input("x", FLOAT, dims);
        boolean nbits = op.equals("MatMulNBits");
        boolean groups = !nbits && layout == null;
        long[] codes = groups ? new long[] {c.n() / 4, q.blocksPerRow(), 4, q.blobBytes()}
                : new long[] {c.n(), q.blocksPerRow(), q.blobBytes()};
        List<String> inputs = new ArrayList<>(List.of("x",
                g.externalUint8("w.q", groups ? q.rowGroups().codes() : q.data(), codes)));
        if (!nbits && c.bits() == 4) {
            inputs.add(g.externalFloat16("w.dm", q.rowGroups().scales(), c.n() / 4, q.blocksPerRow(), 8));
        } else {
            inputs.add(g.externalFloat("w.scales", groups ? q.rowGroups().scales() : q.scales(),
                    (long) c.n() * q.blocksPerRow()));
        }
        if (nbits && q.zeroPoints() != null) {
            inputs.add(g.externalUint8("w.zero_points", q.zeroPoints(), (long) c.n() * q.zeroPointBytesPerRow()));
        }
        List<GraphBuilder.Attr> attrs = new ArrayList<>(List.of(GraphBuilder.Attr.i("K", k),
                GraphBuilder.Attr.i("N", c.n()), GraphBuilder.Attr.i("bits", c.bits()),
                GraphBuilder.Attr.i("block_size", c.block())));
        if (op.equals("MatMulNBits")) {
            attrs.add(GraphBuilder.Attr.i("accuracy_level", 4));
        }
        attrs.addAll(extra);
        g.node(op, op.equals("MatMulNBits") ? GraphBuilder.MS_DOMAIN : GraphBuilder.QUIVER_DOMAIN, inputs,
                List.of("y0"), attrs.toArray(GraphBuilder.Attr[]::new));
        g.op("Identity", List.of("y0"), "y"); // the output feeds the next op in the decoder: its shape must hold
        Object[] out = dims.clone();
        out[c.rows().length] = (long) c.n();
        g.output("y", FLOAT, out);
        GraphBuilder.Built built = g.build("test");
        Map<String, OnnxTensor> external = new LinkedHashMap<>();
        try (OrtSession.SessionOptions options = SessionSettings.cpu(2).options()) {
            for (Map.Entry<String, ExternalTensor> e : built.externalData().entrySet()) {
                ExternalTensor t = e.getValue();
                external.put(e.getKey(), t.tensor(ENV));
            }
            options.addExternalInitializers(new LinkedHashMap<String, OnnxTensorLike>(external));
            try (OrtSession session = ENV.createSession(built.modelBytes(), options);
                 OnnxTensor input = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), c.shape(width));
                 OrtSession.Result result = session.run(Map.of("x", input))) {
                OnnxTensor y = (OnnxTensor) result.get(0);
                assertThat(y.getInfo().getShape()).isEqualTo(c.shape(c.n()));
                FloatBuffer values = y.getFloatBuffer();
                float[] v = new float[values.remaining()];
                values.get(v);
                return v;
            }
        } finally {
            external.values().forEach(OnnxTensor::close);
        }
    }

    /** The native op with the LoRA mask and fp16 pools a [width, k], b [width, part] for the leading parts that have them. */
    private static float[] runWithAdapters(Case c, float[] x, BlockQuantizer.Quantized q, float[] mask,
                                           float[][] a, float[][] b, long[] parts, int rank) throws OrtException {
        return runWithAdapters(c, x, q, mask, a, b, parts, rank, null);
    }

    /** {@link #runWithAdapters} with the attribute activation when it is not null (then x's rows are 2 K wide). */
    private static float[] runWithAdapters(Case c, float[] x, BlockQuantizer.Quantized q, float[] mask,
                                           float[][] a, float[][] b, long[] parts, int rank, String activation)
            throws OrtException {
        int width = activation == null ? c.k() : 2 * c.k();
        GraphBuilder g = new GraphBuilder("q");
        g.input("x", FLOAT, "m", (long) width);
        g.input("mask", FLOAT, "m", "w");
        BlockQuantizer.RowGroups groups = q.rowGroups();
        List<String> inputs = new ArrayList<>(List.of("x",
                g.externalUint8("w.q", groups.codes(), c.n() / 4, q.blocksPerRow(), 4, q.blobBytes()),
                c.bits() == 8 ? g.externalFloat("w.scales", groups.scales(), (long) c.n() * q.blocksPerRow())
                        : g.externalFloat16("w.dm", groups.scales(), c.n() / 4, q.blocksPerRow(), 8), "mask"));
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            feeds.put("x", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {c.m(), width}));
            feeds.put("mask", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(mask),
                    new long[] {c.m(), mask.length / c.m()}));
            int lanes = mask.length / c.m();
            for (int p = 0; p < parts.length; p++) {
                if (a[p] == null) {
                    break;
                }
                g.input("a" + p, OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) lanes, (long) c.k());
                g.input("b" + p, OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) lanes, parts[p]);
                inputs.add("a" + p);
                inputs.add("b" + p);
                feeds.put("a" + p, half(a[p], lanes, c.k()));
                feeds.put("b" + p, half(b[p], lanes, parts[p]));
            }
            List<GraphBuilder.Attr> attrs = new ArrayList<>(List.of(GraphBuilder.Attr.i("K", c.k()),
                    GraphBuilder.Attr.i("N", c.n()), GraphBuilder.Attr.i("bits", c.bits()),
                    GraphBuilder.Attr.i("block_size", c.block()), GraphBuilder.Attr.ints("lora_parts", parts),
                    GraphBuilder.Attr.i("lora_rank", rank)));
            if (activation != null) {
                attrs.add(GraphBuilder.Attr.s("activation", activation));
            }
            g.node(c.op(), GraphBuilder.QUIVER_DOMAIN, inputs, List.of("y0"), attrs.toArray(GraphBuilder.Attr[]::new));
            g.op("Identity", List.of("y0"), "y");
            g.output("y", FLOAT, "m", (long) c.n());
            return runGraph(g, feeds);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** MultiLoraFp16 on base [tokens, out]: the separate node the fused op replaces. */
    private static float[] multiLora(float[] x, float[] base, float[] a, float[] b, float[] mask, int tokens, int in,
                                     int out, int width, int rank) throws OrtException {
        GraphBuilder g = new GraphBuilder("lora");
        g.input("x", FLOAT, (long) tokens, (long) in);
        g.input("base", FLOAT, (long) tokens, (long) out);
        g.input("a", OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) width, (long) in);
        g.input("b", OnnxMl.TensorProto.DataType.FLOAT16_VALUE, (long) width, (long) out);
        g.input("mask", FLOAT, (long) tokens, (long) width);
        g.node("MultiLoraFp16", GraphBuilder.QUIVER_DOMAIN, List.of("x", "base", "a", "b", "mask"), List.of("y0"),
                GraphBuilder.Attr.i("rank", rank));
        g.op("Identity", List.of("y0"), "y");
        g.output("y", FLOAT, (long) tokens, (long) out);
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            feeds.put("x", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {tokens, in}));
            feeds.put("base", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(base), new long[] {tokens, out}));
            feeds.put("a", half(a, width, in));
            feeds.put("b", half(b, width, out));
            feeds.put("mask", OnnxTensor.createTensor(ENV, FloatBuffer.wrap(mask), new long[] {tokens, width}));
            return runGraph(g, feeds);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] runGraph(GraphBuilder g, Map<String, OnnxTensor> feeds) throws OrtException {
        return runGraphOutputs(g, feeds).get(0);
    }

    /** Every output of g's graph, in order. */
    private static List<float[]> runGraphOutputs(GraphBuilder g, Map<String, OnnxTensor> feeds) throws OrtException {
        GraphBuilder.Built built = g.build("test");
        Map<String, OnnxTensor> external = new LinkedHashMap<>();
        try (OrtSession.SessionOptions options = SessionSettings.cpu(2).options()) {
            for (Map.Entry<String, ExternalTensor> e : built.externalData().entrySet()) {
                external.put(e.getKey(), e.getValue().tensor(ENV));
            }
            options.addExternalInitializers(new LinkedHashMap<String, OnnxTensorLike>(external));
            try (OrtSession session = ENV.createSession(built.modelBytes(), options);
                 OrtSession.Result result = session.run(feeds)) {
                List<float[]> outputs = new ArrayList<>();
                for (int i = 0; i < result.size(); i++) {
                    FloatBuffer values = ((OnnxTensor) result.get(i)).getFloatBuffer();
                    float[] v = new float[values.remaining()];
                    values.get(v);
                    outputs.add(v);
                }
                return outputs;
            }
        } finally {
            external.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor half(float[] values, long rows, long columns) throws OrtException {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(values.length * 2)
                .order(java.nio.ByteOrder.nativeOrder());
        for (int i = 0; i < values.length; i++) {
            bytes.putShort(i * 2, DType.floatToF16(values[i]));
        }
        return OnnxTensor.createTensor(ENV, bytes, new long[] {rows, columns}, ai.onnxruntime.OnnxJavaType.FLOAT16);
    }

    private static void assertClose(float[] actual, double[] expected, double[] magnitude, double relative,
                                    String what) {
        assertThat(actual).as(what).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as(what + " at " + i + ": " + actual[i] + " vs "
                    + expected[i]).isLessThanOrEqualTo(1e-6 + relative * magnitude[i]);
        }
    }

    private static float[] gaussian(int n, SplittableRandom random, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (random.nextGaussian() * scale);
        }
        return f;
    }
}
