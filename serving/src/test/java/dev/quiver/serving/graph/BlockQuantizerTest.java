package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class BlockQuantizerTest {
    private static float[][] random(int rows, int cols, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) random.nextGaussian() * 0.05f;
            }
        }
        return w;
    }

    private static BlockQuantizer.Quantized quantize(float[][] w, int bits, int block) throws Exception {
        return new BlockQuantizer(bits, block).quantize((r, dst) -> System.arraycopy(w[r], 0, dst, 0, dst.length),
                w.length, w[0].length);
    }

    @ParameterizedTest
    @CsvSource({"8, 32, 96", "8, 32, 100", "4, 32, 96", "4, 32, 100", "4, 64, 33", "8, 16, 7"})
    void everyValueRoundTripsWithinHalfAStepOfItsBlock(int bits, int block, int cols) throws Exception {
        float[][] w = random(5, cols, bits * 1000L + cols);
        BlockQuantizer.Quantized q = quantize(w, bits, block);
        assertThat(q.blocksPerRow()).isEqualTo((cols + block - 1) / block);
        assertThat(q.data().capacity()).isEqualTo(5 * q.blocksPerRow() * block * bits / 8);
        for (int r = 0; r < w.length; r++) {
            for (int b = 0; b < q.blocksPerRow(); b++) {
                float scale = q.scales().getFloat((r * q.blocksPerRow() + b) * Float.BYTES);
                float lo = 0;
                float hi = 0;
                for (int c = b * block; c < Math.min(cols, (b + 1) * block); c++) {
                    lo = Math.min(lo, w[r][c]);
                    hi = Math.max(hi, w[r][c]);
                }
                // the step is the block's own range over the levels: one outlier widens only its block
                float expectedStep = bits == 8 ? Math.max(-lo, hi) / 127f : (hi - lo) / 15f;
                assertThat(scale).isCloseTo(expectedStep, org.assertj.core.data.Offset.offset(1e-9f));
                for (int c = b * block; c < Math.min(cols, (b + 1) * block); c++) {
                    // zero-point rounding adds at most half a step to the value's own rounding in 4 bits
                    float bound = bits == 8 ? scale * 0.5f + 1e-7f : scale + 1e-7f;
                    assertThat(Math.abs(q.dequantize(r, c) - w[r][c])).as("row %d col %d", r, c)
                            .isLessThanOrEqualTo(bound);
                }
            }
        }
    }

    @Test
    void zeroIsExactAndAnAllZeroBlockStaysZero() throws Exception {
        float[][] w = random(2, 64, 3);
        for (int c = 0; c < 32; c++) {
            w[0][c] = 0f;
        }
        w[1][40] = 0f;
        for (int bits : new int[] {4, 8}) {
            BlockQuantizer.Quantized q = quantize(w, bits, 32);
            for (int c = 0; c < 32; c++) {
                assertThat(q.dequantize(0, c)).isZero();
            }
            assertThat(q.dequantize(1, 40)).isZero();
        }
    }

    @Test
    void theLastBlockOfARaggedRowIsPaddedWithTheCodeOfZero() throws Exception {
        float[][] w = random(1, 40, 5);
        BlockQuantizer.Quantized q8 = quantize(w, 8, 32);
        for (int i = 40; i < 64; i++) {
            assertThat(Byte.toUnsignedInt(q8.data().get(i))).isEqualTo(128);
        }
        BlockQuantizer.Quantized q4 = quantize(w, 4, 32);
        int zp = q4.zeroPoint(0, 1);
        for (int i = 40; i < 64; i += 2) {
            int packed = Byte.toUnsignedInt(q4.data().get(i / 2));
            assertThat(packed & 0x0F).isEqualTo(zp);
            assertThat(packed >>> 4).isEqualTo(zp);
        }
    }

    @Test
    void theCompilerUsesBlocksOf128ForInt8And32ForInt4WholeWherePossible() {
        assertThat(BlockQuantizer.forWeight(Quantization.INT8, 1024).blockSize()).isEqualTo(128);
        assertThat(BlockQuantizer.forWeight(Quantization.INT8, 896).blockSize()).isEqualTo(128);
        assertThat(BlockQuantizer.forWeight(Quantization.INT8, 64).blockSize()).isEqualTo(64);
        assertThat(BlockQuantizer.forWeight(Quantization.INT8, 100).blockSize()).isEqualTo(128);
        assertThat(BlockQuantizer.forWeight(Quantization.INT4, 3072).blockSize()).isEqualTo(32);
        assertThat(BlockQuantizer.forWeight(Quantization.INT4, 48).blockSize()).isEqualTo(16);
        assertThat(BlockQuantizer.forWeight(Quantization.INT4, 1024).bits()).isEqualTo(4);
        assertThatThrownBy(() -> BlockQuantizer.forWeight(Quantization.NONE, 64)).hasMessageContaining("fp32");
    }

    @Test
    void refusesBitWidthsAndBlockSizesOnnxRuntimeCannotRun() {
        assertThatThrownBy(() -> new BlockQuantizer(3, 32)).hasMessageContaining("4 or 8 bits");
        assertThatThrownBy(() -> new BlockQuantizer(8, 48)).hasMessageContaining("power of 2");
        assertThatThrownBy(() -> new BlockQuantizer(4, 8)).hasMessageContaining("at least 16");
    }

    /**
     * The layout claim that matters: ONNX Runtime's MatMulNBits (both compute types the compiler may pick) and
     * GatherBlockQuantized read our blocks as the values {@link BlockQuantizer.Quantized#dequantize} gives.
     */
    @ParameterizedTest
    @CsvSource({"8, 0, 96", "8, 4, 96", "4, 0, 96", "4, 4, 96", "4, 4, 128", "4, 4, 100", "8, 4, 100", "8, 2, 64", "4, 1, 64"})
    void onnxRuntimeReadsTheBlocksAsWeDequantizeThem(int bits, int accuracyLevel, int k) throws Exception {
        int n = 48;
        int m = 3;
        float[][] w = random(n, k, 17 + bits + k);
        BlockQuantizer.Quantized q = quantize(w, bits, 32);
        float[] x = new float[m * k];
        SplittableRandom random = new SplittableRandom(9);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        GraphBuilder g = new GraphBuilder("matmul-nbits");
        g.input("x", DataType.FLOAT.getNumber(), m, k);
        g.input("ids", DataType.INT64.getNumber(), 2);
        String data = g.externalUint8("w.q", q.data(), n, q.blocksPerRow(), q.blobBytes());
        String scales = g.externalFloat("w.scales", q.scales(), (long) n * q.blocksPerRow());
        List<String> inputs = new ArrayList<>(List.of("x", data, scales));
        if (q.zeroPoints() != null) {
            inputs.add(g.externalUint8("w.zp", q.zeroPoints(), (long) n * q.zeroPointBytesPerRow()));
        }
        g.node("MatMulNBits", GraphBuilder.MS_DOMAIN, inputs, List.of("y"), GraphBuilder.Attr.i("K", k),
                GraphBuilder.Attr.i("N", n), GraphBuilder.Attr.i("bits", bits), GraphBuilder.Attr.i("block_size", 32),
                GraphBuilder.Attr.i("accuracy_level", accuracyLevel));
        g.output("y", DataType.FLOAT.getNumber(), m, n);
        boolean lookup = k % 32 == 0;
        if (lookup) {
            List<String> gather = new ArrayList<>(List.of(
                    g.externalUint8("t.q", q.data(), n, (long) k * bits / 8), "ids",
                    g.externalFloat("t.scales", q.scales(), n, q.blocksPerRow())));
            if (q.zeroPoints() != null) {
                gather.add(g.externalUint8("t.zp", q.unpaddedZeroPoints(), n, q.zeroPointBytesPerRow()));
            }
            g.node("GatherBlockQuantized", GraphBuilder.MS_DOMAIN, gather, List.of("rows"),
                    GraphBuilder.Attr.i("gather_axis", 0), GraphBuilder.Attr.i("quantize_axis", 1),
                    GraphBuilder.Attr.i("block_size", 32), GraphBuilder.Attr.i("bits", bits));
            g.output("rows", DataType.FLOAT.getNumber(), 2, k);
        }
        GraphBuilder.Built built = g.build("test");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OnnxTensor> owned = new ArrayList<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            Map<String, OnnxTensorLike> external = new LinkedHashMap<>();
            for (Map.Entry<String, ExternalTensor> e : built.externalData().entrySet()) {
                ExternalTensor t = e.getValue();
                OnnxTensor tensor = t.tensor(env);
                owned.add(tensor);
                external.put(e.getKey(), tensor);
            }
            options.addExternalInitializers(external);
            try (OrtSession session = env.createSession(built.modelBytes(), options);
                 OnnxTensor xs = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {m, k});
                 OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {5, 0}), new long[] {2});
                 OrtSession.Result result = session.run(Map.of("x", xs, "ids", ids))) {
                float[][] y = (float[][]) result.get("y").orElseThrow().getValue();
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double expected = 0;
                        double magnitude = 0;
                        for (int c = 0; c < k; c++) {
                            expected += x[i * k + c] * q.dequantize(j, c);
                            magnitude += Math.abs(x[i * k + c] * q.dequantize(j, c));
                        }
                        // accuracy level 4 rounds the activations to int8 per block: ~1% of the summed magnitude
                        double tolerance = accuracyLevel == 4 ? 0.01 * magnitude + 1e-4 : 1e-5 * magnitude + 1e-6;
                        assertThat((double) y[i][j]).as("y[%d][%d]", i, j)
                                .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
                    }
                }
                if (lookup) {
                    float[][] rows = (float[][]) result.get("rows").orElseThrow().getValue();
                    for (int c = 0; c < k; c++) {
                        assertThat(rows[0][c]).isEqualTo(q.dequantize(5, c));
                        assertThat(rows[1][c]).isEqualTo(q.dequantize(0, c));
                    }
                }
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }
}
