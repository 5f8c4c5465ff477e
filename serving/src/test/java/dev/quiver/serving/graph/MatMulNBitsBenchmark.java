package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One linear layer of Qwen3-0.6B's MLP ({@code [M, 1024] x [1024, 3072]}) as fp32 MatMul, as MatMulNBits
 * at each bit width, block size and accuracy level the compiler could choose, and as Quiver's MatMulQ8 and
 * MatMulQ4, the variants interleaved run by
 * run so that other load on the machine hits them alike; prints the median time and the weight bytes read per
 * second. Not a test: run by hand, {@code MatMulNBitsBenchmark THREADS RUNS}.
 */
public final class MatMulNBitsBenchmark {
    private static final int K = 1024;
    private static final int N = 3072;

    private MatMulNBitsBenchmark() {
    }

    private record Variant(String label, OrtSession session, long weightBytes) {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        int runs = Integer.parseInt(args[1]);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] w = new float[N][K];
        SplittableRandom random = new SplittableRandom(1);
        for (float[] row : w) {
            for (int c = 0; c < K; c++) {
                row[c] = (float) random.nextGaussian() * 0.02f;
            }
        }
        List<Variant> variants = new ArrayList<>();
        variants.add(fp32(env, w, threads));
        for (int[] v : new int[][] {{8, 32, 0}, {8, 32, 4}, {4, 32, 0}, {4, 32, 4}, {4, 128, 4}, {8, 128, 4}}) {
            variants.add(nbits(env, w, v[0], v[1], v[2], threads));
        }
        if (QuiverOps.library().isPresent()) {
            variants.add(quiver(env, w, 8, 128, threads));
            variants.add(quiver(env, w, 4, 32, threads));
        }
        for (int m : new int[] {1, 8, 32, 128}) {
            float[] x = new float[m * K];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            double[][] times = new double[variants.size()][runs];
            try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {m, K})) {
                for (int r = -3; r < runs; r++) {
                    for (int v = 0; v < variants.size(); v++) {
                        long t0 = System.nanoTime();
                        variants.get(v).session().run(Map.of("x", input)).close();
                        if (r >= 0) {
                            times[v][r] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                }
            }
            for (int v = 0; v < variants.size(); v++) {
                Arrays.sort(times[v]);
                double ms = times[v][runs / 2];
                System.out.printf("M=%d threads=%d %-22s median %.3f ms, %.1f GB/s of weights, %.0f GFLOPS%n", m,
                        threads, variants.get(v).label(), ms, variants.get(v).weightBytes() / 1e6 / ms,
                        2.0 * m * K * N / 1e6 / ms);
            }
        }
    }

    private static Variant fp32(OrtEnvironment env, float[][] w, int threads) throws Exception {
        ByteBuffer t = ByteBuffer.allocateDirect(K * N * Float.BYTES).order(ByteOrder.nativeOrder());
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                t.putFloat((k * N + n) * Float.BYTES, w[n][k]);
            }
        }
        GraphBuilder g = graph();
        g.op("MatMul", List.of("x", g.externalFloat("w", t, K, N)), "y");
        return new Variant("fp32 MatMul", session(env, g, threads), (long) K * N * Float.BYTES);
    }

    private static Variant nbits(OrtEnvironment env, float[][] w, int bits, int block, int level, int threads)
            throws Exception {
        BlockQuantizer.Quantized q = new BlockQuantizer(bits, block)
                .quantize((r, dst) -> System.arraycopy(w[r], 0, dst, 0, K), N, K);
        GraphBuilder g = graph();
        List<String> inputs = new ArrayList<>(List.of("x", g.externalUint8("w.q", q.data(), N, q.blocksPerRow(),
                q.blobBytes()), g.externalFloat("w.scales", q.scales(), (long) N * q.blocksPerRow())));
        if (q.zeroPoints() != null) {
            inputs.add(g.externalUint8("w.zp", q.zeroPoints(), (long) N * q.zeroPointBytesPerRow()));
        }
        g.node("MatMulNBits", GraphBuilder.MS_DOMAIN, inputs, List.of("y"), GraphBuilder.Attr.i("K", K),
                GraphBuilder.Attr.i("N", N), GraphBuilder.Attr.i("bits", bits), GraphBuilder.Attr.i("block_size", block),
                GraphBuilder.Attr.i("accuracy_level", level));
        return new Variant("int" + bits + " block " + block + " level " + level, session(env, g, threads), q.bytes());
    }

    /** Quiver's MatMulQ8 or MatMulQ4 on the blocks that MatMulNBits reads, in its row groups. */
    private static Variant quiver(OrtEnvironment env, float[][] w, int bits, int block, int threads)
            throws Exception {
        BlockQuantizer.Quantized q = new BlockQuantizer(bits, block)
                .quantize((r, dst) -> System.arraycopy(w[r], 0, dst, 0, K), N, K);
        GraphBuilder g = graph();
        BlockQuantizer.RowGroups groups = q.rowGroups();
        String codes = g.externalUint8("w.q", groups.codes(), N / 4, q.blocksPerRow(), 4, q.blobBytes());
        String scales = bits == 8 ? g.externalFloat("w.scales", groups.scales(), (long) N * q.blocksPerRow())
                : g.externalFloat16("w.dm", groups.scales(), N / 4, q.blocksPerRow(), 8);
        g.node("MatMulQ" + bits, GraphBuilder.QUIVER_DOMAIN, List.of("x", codes, scales), List.of("y"),
                GraphBuilder.Attr.i("K", K), GraphBuilder.Attr.i("N", N), GraphBuilder.Attr.i("bits", bits),
                GraphBuilder.Attr.i("block_size", block));
        return new Variant("int" + bits + " block " + block + " MatMulQ" + bits, session(env, g, threads),
                (long) groups.codes().capacity() + groups.scales().capacity());
    }

    private static GraphBuilder graph() {
        GraphBuilder g = new GraphBuilder("linear");
        g.input("x", DataType.FLOAT.getNumber(), "m", K);
        g.output("y", DataType.FLOAT.getNumber(), "m", N);
        return g;
    }

    private static OrtSession session(OrtEnvironment env, GraphBuilder g, int threads) throws Exception {
        GraphBuilder.Built built = g.build("bench");
        OrtSession.SessionOptions options = SessionSettings.cpu(threads).options(); // the decoder's settings
        Map<String, OnnxTensorLike> external = new LinkedHashMap<>();
        for (Map.Entry<String, ExternalTensor> e : built.externalData().entrySet()) {
            ExternalTensor t = e.getValue();
            external.put(e.getKey(), t.tensor(env));
        }
        options.addExternalInitializers(external);
        return env.createSession(built.modelBytes(), options);
    }
}
