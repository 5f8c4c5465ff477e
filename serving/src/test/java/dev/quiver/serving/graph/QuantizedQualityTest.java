package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.runtime.ForwardPass;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * int8 and int4 base weights against fp32 on the {@code small} demo model (8 layers, hidden 512, vocabulary
 * 4096) over the same prompts: the mean KL divergence {@code KL(p_fp32 || p_quantized)} of the next-token
 * distributions at every position, and how often the most likely next token agrees. The random-weight model's
 * distributions are nearly flat (about 7.5 nats of entropy over 4096 tokens, where a trained model has a few),
 * so many positions have near-ties at the top and top-1 agreement reads low even for small errors: the bounds
 * are set so that a broken quantizer (wrong packing, scales or zero points: KL of nats, agreement near 1/4096)
 * fails them, and the task-level check is the adapter exact-match test in the api module.
 */
class QuantizedQualityTest {
    private static final int PROMPTS = 6;
    private static final int LENGTH = 48;

    @TempDir
    static Path tmp;
    static Path modelDir;
    static int[][] prompts;
    static float[][][] fp32;

    @BeforeAll
    static void fp32Logits() throws Exception {
        modelDir = tmp.resolve("qwen3-small");
        ModelConfig config = DemoModelMaker.write(modelDir, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.SMALL,
                7, DType.BF16));
        SplittableRandom random = new SplittableRandom(21);
        prompts = new int[PROMPTS][LENGTH];
        for (int[] p : prompts) {
            for (int t = 0; t < LENGTH; t++) {
                p[t] = random.nextInt(config.vocabSize());
            }
        }
        fp32 = logits(Quantization.NONE);
    }

    private static float[][][] logits(Quantization quantization) throws Exception {
        try (ForwardPass pass = ForwardPass.open(modelDir, LENGTH, 8, quantization, 1)) {
            float[][][] out = new float[PROMPTS][][];
            for (int i = 0; i < PROMPTS; i++) {
                out[i] = pass.logits(prompts[i], null);
            }
            return out;
        }
    }

    /** Mean KL divergence and top-1 agreement of {@code quantized} against the fp32 logits. */
    private record Agreement(double meanKl, double top1) {
    }

    private static Agreement compare(float[][][] quantized) {
        double kl = 0;
        int agree = 0;
        int positions = 0;
        for (int i = 0; i < PROMPTS; i++) {
            for (int t = 0; t < LENGTH; t++) {
                double[] p = softmax(fp32[i][t]);
                double[] q = softmax(quantized[i][t]);
                for (int v = 0; v < p.length; v++) {
                    if (p[v] > 0) {
                        kl += p[v] * (Math.log(p[v]) - Math.log(Math.max(q[v], 1e-30)));
                    }
                }
                agree += argmax(fp32[i][t]) == argmax(quantized[i][t]) ? 1 : 0;
                positions++;
            }
        }
        return new Agreement(kl / positions, (double) agree / positions);
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int v = 0; v < logits.length; v++) {
            p[v] = Math.exp(logits[v] - max);
            sum += p[v];
        }
        for (int v = 0; v < p.length; v++) {
            p[v] /= sum;
        }
        return p;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int v = 1; v < logits.length; v++) {
            if (logits[v] > logits[best]) {
                best = v;
            }
        }
        return best;
    }

    private static Agreement measure(Quantization quantization) throws Exception {
        Agreement a = compare(logits(quantization));
        double entropy = 0;
        for (float[][] prompt : fp32) {
            for (float[] position : prompt) {
                for (double p : softmax(position)) {
                    entropy -= p > 0 ? p * Math.log(p) : 0;
                }
            }
        }
        System.out.printf("quantized quality (small, %d prompts x %d positions, fp32 next-token entropy %.3f nats):"
                + " %s mean KL %.5f nats, top-1 agreement %.3f%n", PROMPTS, LENGTH, entropy / (PROMPTS * LENGTH),
                quantization.label(), a.meanKl(), a.top1());
        return a;
    }

    @Test
    void int8StaysCloseToFp32() throws Exception {
        Agreement a = measure(Quantization.INT8);
        assertThat(a.top1()).isGreaterThanOrEqualTo(0.90);
        assertThat(a.meanKl()).isLessThan(0.002);
    }

    @Test
    void int4StaysNearFp32() throws Exception {
        Agreement a = measure(Quantization.INT4);
        assertThat(a.top1()).isGreaterThanOrEqualTo(0.25);
        assertThat(a.meanKl()).isLessThan(0.1);
    }

    @Test
    void quantizedWeightsTakeAQuarterOrAnEighthOfTheBytes() throws Exception {
        long[] bytes = new long[3];
        Quantization[] modes = Quantization.values();
        try (ModelDirectory model = ModelDirectory.open(modelDir)) {
            for (int i = 0; i < modes.length; i++) {
                bytes[i] = new DecoderGraphCompiler(CompileOptions.builder().optMaxSequenceLength(LENGTH)
                        .optLora(LoraLayout.allLinear(2, 8)).optQuantization(modes[i]).build()).compile(model)
                        .weightBytes();
            }
        }
        System.out.printf("weight bytes (small): none %d, int8 %d (%.3fx), int4 %d (%.3fx)%n", bytes[0], bytes[1],
                (double) bytes[1] / bytes[0], bytes[2], (double) bytes[2] / bytes[0]);
        // int8: 1 byte + a 4-byte scale per 128; int4: half a byte + a scale and half a zero-point byte per 32
        assertThat((double) bytes[1] / bytes[0]).isBetween(0.25, 0.27);
        assertThat((double) bytes[2] / bytes[0]).isBetween(0.14, 0.17);
    }
}
