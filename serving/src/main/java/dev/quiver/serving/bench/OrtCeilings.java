package dev.quiver.serving.bench;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quiver.serving.graph.GraphBuilder;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The two ceilings the serving engine is judged against, measured through ONNX Runtime with the decoder's
 * session settings: a one-MatMul graph {@code [m, k] x [k, n]}, the weight an initializer as the decoder holds
 * its base weights, best of a few runs. At {@code m = 256} it is prefill's ceiling (the MatMul rate); at
 * {@code m = 1} over a weight sixteen times the L3 it is batch-1 decode's (how fast the kernel streams weights
 * from memory: every decode step reads each base weight once).
 */
final class OrtCeilings {
    /** Rows of the activation for the MatMul peak: at and above this M the kernel runs at its full rate. */
    static final int PEAK_M = 256;
    /**
     * The streamed weight: 4096 x 32768 fp32 = 512 MiB, 16x the 32 MiB L3 of the build machine. Smaller weights
     * read faster there as more of them stays cached (2 threads: 64 MiB 112, 256 MiB 96, 1 GiB 84 GB/s), and a
     * decode step streams 2.4 GB for Qwen3-0.6B.
     */
    static final int READ_K = 4096;
    static final int READ_N = 32768;
    /**
     * Timed runs of each probe: 30 runs of a few ms each, so that on a shared machine the best one likely falls in
     * a quiet moment (one short burst read 52 GB/s where the same probe reads 96 GB/s on an idle moment).
     */
    private static final int RUNS = 30;

    private OrtCeilings() {
    }

    /** Billions of floating-point operations per second of {@code [PEAK_M, k] x [k, n]} (a multiply-add is two). */
    static double matmulGflops(SessionSettings run, int k, int n) throws OrtException {
        return 2.0 * PEAK_M * k * n / bestSeconds(run, PEAK_M, k, n) / 1e9;
    }

    /** Gigabytes (1e9 bytes) per second of weight a batch-1 MatMul reads from memory. */
    static double weightReadGbPerSecond(SessionSettings run) throws OrtException {
        return (double) READ_K * READ_N * Float.BYTES / bestSeconds(run, 1, READ_K, READ_N) / 1e9;
    }

    private static double bestSeconds(SessionSettings run, int m, int k, int n) throws OrtException {
        int f = DataType.FLOAT.getNumber();
        GraphBuilder g = new GraphBuilder("one-matmul");
        g.input("x", f, m, k);
        g.externalFloat("w", filledBytes(k * n), k, n);
        g.op("MatMul", List.of("x", "w"), "y");
        g.output("y", f, m, n);
        GraphBuilder.Built built = g.build("quiver-ceilings");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = run.options();
             OnnxTensor w = OnnxTensor.createTensor(env, built.externalData().get("w").bytes().asFloatBuffer(),
                     new long[] {k, n})) {
            options.addExternalInitializers(Map.<String, OnnxTensorLike>of("w", w));
            try (OrtSession session = env.createSession(built.modelBytes(), options);
                 OnnxTensor x = OnnxTensor.createTensor(env, filled(m * k), new long[] {m, k});
                 OnnxTensor y = OnnxTensor.createTensor(env, filled(m * n), new long[] {m, n})) {
                double best = Double.MAX_VALUE;
                for (int i = 0; i <= RUNS; i++) {
                    long began = System.nanoTime();
                    session.run(Map.of("x", x), Set.of(), Map.of("y", y)).close();
                    double seconds = (System.nanoTime() - began) / 1e9;
                    if (i > 0) {
                        // the first run sizes the arena and touches the packed weight, so it is not counted
                        best = Math.min(best, seconds);
                    }
                }
                return best;
            }
        }
    }

    // the values do not change a dense fp32 MatMul's speed: a cheap pattern instead of random numbers
    private static FloatBuffer filled(int n) {
        return filledBytes(n).asFloatBuffer();
    }

    private static ByteBuffer filledBytes(int n) {
        ByteBuffer b = ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            b.putFloat(i * Float.BYTES, ((i * 31) & 1023) / 1024f - 0.5f);
        }
        return b;
    }
}
