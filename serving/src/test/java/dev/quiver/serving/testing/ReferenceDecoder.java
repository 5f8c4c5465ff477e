package dev.quiver.serving.testing;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * A plain-Java forward pass written straight from transformers' Llama/Qwen2/Qwen3 code, loops and all,
 * to check the compiled graph against. Slow and obvious on purpose.
 */
public final class ReferenceDecoder {
    private final ModelConfig c;
    private final Map<String, float[]> w = new HashMap<>();

    public ReferenceDecoder(ModelDirectory model) throws IOException {
        this.c = model.config();
        for (String name : c.expectedWeights().keySet()) {
            w.put(name, model.weights().tensor(name).toFloats());
        }
    }

    /** Logits {@code [position][vocab]} for {@code tokens}, with {@code adapter} (or null) merged in PEFT's way. */
    public float[][] logits(int[] tokens, PeftAdapter adapter) {
        int n = tokens.length;
        int hidden = c.hiddenSize();
        float[][] h = new float[n][];
        float[] embed = w.get("model.embed_tokens.weight");
        for (int t = 0; t < n; t++) {
            h[t] = new float[hidden];
            System.arraycopy(embed, tokens[t] * hidden, h[t], 0, hidden);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            float[][] x = new float[n][];
            for (int t = 0; t < n; t++) {
                x[t] = rmsNorm(h[t], w.get(p + "input_layernorm.weight"));
            }
            float[][] attn = attention(l, x, adapter);
            for (int t = 0; t < n; t++) {
                add(h[t], attn[t]);
                x[t] = rmsNorm(h[t], w.get(p + "post_attention_layernorm.weight"));
                float[] gate = linear(l, "gate_proj", x[t], adapter);
                float[] up = linear(l, "up_proj", x[t], adapter);
                float[] act = new float[gate.length];
                for (int i = 0; i < act.length; i++) {
                    act[i] = (float) (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
                }
                add(h[t], linear(l, "down_proj", act, adapter));
            }
        }
        float[] head = c.tieWordEmbeddings() ? embed : w.get("lm_head.weight");
        float[][] logits = new float[n][];
        for (int t = 0; t < n; t++) {
            logits[t] = matVec(head, c.vocabSize(), hidden, rmsNorm(h[t], w.get("model.norm.weight")));
        }
        return logits;
    }

    private float[][] attention(int l, float[][] x, PeftAdapter adapter) {
        int n = x.length;
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int d = c.headDim();
        String p = "model.layers." + l + ".self_attn.";
        float[][] q = new float[n][];
        float[][] k = new float[n][];
        float[][] v = new float[n][];
        for (int t = 0; t < n; t++) {
            q[t] = linear(l, "q_proj", x[t], adapter);
            k[t] = linear(l, "k_proj", x[t], adapter);
            v[t] = linear(l, "v_proj", x[t], adapter);
            if (c.qkNorm()) {
                headNorm(q[t], heads, w.get(p + "q_norm.weight"));
                headNorm(k[t], kvHeads, w.get(p + "k_norm.weight"));
            }
            rope(q[t], heads, t);
            rope(k[t], kvHeads, t);
        }
        float[][] out = new float[n][heads * d];
        double scale = 1.0 / Math.sqrt(d);
        for (int t = 0; t < n; t++) {
            for (int hd = 0; hd < heads; hd++) {
                int kvh = hd / (heads / kvHeads);
                double[] scores = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) {
                        dot += q[t][hd * d + i] * k[s][kvh * d + i];
                    }
                    scores[s] = dot * scale;
                    max = Math.max(max, scores[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    sum += scores[s];
                }
                for (int s = 0; s <= t; s++) {
                    for (int i = 0; i < d; i++) {
                        out[t][hd * d + i] += (float) (scores[s] / sum * v[s][kvh * d + i]);
                    }
                }
            }
        }
        float[][] o = new float[n][];
        for (int t = 0; t < n; t++) {
            o[t] = linear(l, "o_proj", out[t], adapter);
        }
        return o;
    }

    /** transformers' apply_rotary_pos_emb: {@code x * cos + rotate_half(x) * sin}, halves not interleaved. */
    private void rope(float[] x, int heads, int position) {
        double[] inv = c.ropeInverseFrequencies();
        int d = c.headDim();
        int half = d / 2;
        for (int hd = 0; hd < heads; hd++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) position * (float) inv[i];
                double cos = Math.cos(angle);
                double sin = Math.sin(angle);
                float x1 = x[hd * d + i];
                float x2 = x[hd * d + half + i];
                x[hd * d + i] = (float) (x1 * cos - x2 * sin);
                x[hd * d + half + i] = (float) (x2 * cos + x1 * sin);
            }
        }
    }

    private void headNorm(float[] x, int heads, float[] weight) {
        int d = c.headDim();
        for (int hd = 0; hd < heads; hd++) {
            float[] part = new float[d];
            System.arraycopy(x, hd * d, part, 0, d);
            System.arraycopy(rmsNorm(part, weight), 0, x, hd * d, d);
        }
    }

    private float[] rmsNorm(float[] x, float[] weight) {
        double ss = 0;
        for (float v : x) {
            ss += (double) v * v;
        }
        double inv = 1.0 / Math.sqrt(ss / x.length + c.rmsNormEps());
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] * inv) * weight[i];
        }
        return out;
    }

    /** {@code W x (+ b)} plus PEFT's {@code scale * B (A x)} when the adapter has this module. */
    private float[] linear(int layer, String module, float[] x, PeftAdapter adapter) {
        String path = ModelConfig.modulePath(layer, module);
        ModelConfig.LinearShape s = c.linear(module);
        float[] y = matVec(w.get(path + ".weight"), s.out(), s.in(), x);
        float[] bias = w.get(path + ".bias");
        if (bias != null) {
            add(y, bias);
        }
        LoraWeights lw = adapter == null ? null : adapter.weights().get(path);
        if (lw != null) {
            float[] ax = matVec(lw.a(), lw.rank(), lw.in(), x);
            float[] bax = matVec(lw.b(), lw.out(), lw.rank(), ax);
            double scale = adapter.config().scaleFor(path);
            for (int i = 0; i < y.length; i++) {
                y[i] += (float) (scale * bax[i]);
            }
        }
        return y;
    }

    private static float[] matVec(float[] m, int rows, int cols, float[] x) {
        float[] y = new float[rows];
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int i = 0; i < cols; i++) {
                acc += (double) m[r * cols + i] * x[i];
            }
            y[r] = (float) acc;
        }
        return y;
    }

    private static void add(float[] into, float[] x) {
        for (int i = 0; i < into.length; i++) {
            into[i] += x[i];
        }
    }
}
