package dev.quiver.serving.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quiver.serving.graph.GraphBuilder;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The fp32 MatMul rate ONNX Runtime reaches on this machine: a one-MatMul graph {@code [m, k] x [k, n]} with
 * the weight as an initializer (as the decoder holds its base weights), run with the decoder's session
 * settings; the best of a few runs. Prefill's GEMMs are the same op, so this is prefill's ceiling.
 */
final class MatmulPeak {
    /** Rows of the activation: at and above this M the MatMul kernel runs at its full rate. */
    static final int M = 256;
    private static final int RUNS = 10;

    private MatmulPeak() {
    }

    /** Billions of floating-point operations per second (a multiply-add counts two). */
    static double gflops(SessionSettings run, int m, int k, int n) throws OrtException {
        int f = DataType.FLOAT.getNumber();
        GraphBuilder g = new GraphBuilder("matmul-peak");
        g.input("x", f, m, k);
        g.externalFloat("w", random(k * n, 1), k, n);
        g.op("MatMul", java.util.List.of("x", "w"), "y");
        g.output("y", f, m, n);
        GraphBuilder.Built built = g.build("quiver-matmul-peak");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = run.options();
             OnnxTensor w = OnnxTensor.createTensor(env, built.externalData().get("w"), new long[] {k, n})) {
            options.addExternalInitializers(Map.<String, OnnxTensorLike>of("w", w));
            try (OrtSession session = env.createSession(built.modelBytes(), options);
                 OnnxTensor x = OnnxTensor.createTensor(env, random(m * k, 2), new long[] {m, k});
                 OnnxTensor y = OnnxTensor.createTensor(env, random(m * n, 3), new long[] {m, n})) {
                double best = Double.MAX_VALUE;
                for (int i = 0; i <= RUNS; i++) {
                    long began = System.nanoTime();
                    session.run(Map.of("x", x), Set.of(), Map.of("y", y)).close();
                    double seconds = (System.nanoTime() - began) / 1e9;
                    if (i > 0) {
                        // the first run packs the weight and sizes the arena, so it is not counted
                        best = Math.min(best, seconds);
                    }
                }
                return 2.0 * m * k * n / best / 1e9;
            }
        }
    }

    private static FloatBuffer random(int n, long seed) {
        FloatBuffer b = ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b.put(i, (float) rnd.nextDouble(-1, 1));
        }
        return b;
    }
}
