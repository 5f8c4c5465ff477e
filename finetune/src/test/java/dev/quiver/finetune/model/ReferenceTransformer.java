package dev.quiver.finetune.model;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * transformers' Llama/Qwen2/Qwen3 forward written out in plain Java loops (double accumulation), the
 * independent reference the DJL decoder is checked against. Slow, only for tiny models.
 */
final class ReferenceTransformer {
    private final ModelConfig c;
    private final Map<String, float[]> w = new HashMap<>();

    ReferenceTransformer(ModelDirectory dir) throws IOException {
        this.c = dir.config();
        for (String name : c.expectedWeights().keySet()) {
            w.put(name, dir.weights().tensor(name).toFloats());
        }
    }

    float[][] logits(int[] ids, PeftAdapter adapter) {
        int n = ids.length;
        int hs = c.hiddenSize();
        int d = c.headDim();
        float[][] x = new float[n][];
        for (int t = 0; t < n; t++) {
            x[t] = slice(w.get("model.embed_tokens.weight"), ids[t] * hs, hs);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            float[][] h = new float[n][];
            float[][] q = new float[n][];
            float[][] k = new float[n][];
            float[][] v = new float[n][];
            for (int t = 0; t < n; t++) {
                h[t] = rms(x[t], w.get(p + "input_layernorm.weight"));
                q[t] = linear(h[t], l, "q_proj", adapter);
                k[t] = linear(h[t], l, "k_proj", adapter);
                v[t] = linear(h[t], l, "v_proj", adapter);
                if (c.qkNorm()) {
                    q[t] = perHead(q[t], c.numHeads(), w.get(p + "self_attn.q_norm.weight"));
                    k[t] = perHead(k[t], c.numKvHeads(), w.get(p + "self_attn.k_norm.weight"));
                }
                rope(q[t], c.numHeads(), t);
                rope(k[t], c.numKvHeads(), t);
            }
            int group = c.numHeads() / c.numKvHeads();
            for (int t = 0; t < n; t++) {
                float[] ctx = new float[c.numHeads() * d];
                for (int head = 0; head < c.numHeads(); head++) {
                    int kv = head / group;
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += q[t][head * d + i] * k[s][kv * d + i];
                        }
                        scores[s] = dot / Math.sqrt(d);
                        max = Math.max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        sum += scores[s];
                    }
                    for (int i = 0; i < d; i++) {
                        double acc = 0;
                        for (int s = 0; s <= t; s++) {
                            acc += scores[s] / sum * v[s][kv * d + i];
                        }
                        ctx[head * d + i] = (float) acc;
                    }
                }
                add(x[t], linear(ctx, l, "o_proj", adapter));
            }
            for (int t = 0; t < n; t++) {
                float[] m = rms(x[t], w.get(p + "post_attention_layernorm.weight"));
                float[] gate = linear(m, l, "gate_proj", adapter);
                float[] up = linear(m, l, "up_proj", adapter);
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = (float) (gate[i] / (1 + Math.exp(-gate[i])) * up[i]);
                }
                add(x[t], linear(gate, l, "down_proj", adapter));
            }
        }
        float[] head = c.tieWordEmbeddings() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
        float[][] out = new float[n][];
        for (int t = 0; t < n; t++) {
            out[t] = matVec(head, rms(x[t], w.get("model.norm.weight")), c.vocabSize());
        }
        return out;
    }

    private float[] linear(float[] in, int layer, String module, PeftAdapter adapter) {
        String path = ModelConfig.modulePath(layer, module);
        ModelConfig.LinearShape s = c.linear(module);
        float[] y = matVec(w.get(path + ".weight"), in, s.out());
        float[] bias = w.get(path + ".bias");
        if (bias != null) {
            add(y, bias);
        }
        LoraWeights lw = adapter == null ? null : adapter.weights().get(path);
        if (lw != null) {
            double scale = adapter.config().scaleFor(path);
            float[] ax = matVec(lw.a(), in, lw.rank());
            float[] bax = matVec(lw.b(), ax, lw.out());
            for (int i = 0; i < y.length; i++) {
                y[i] += (float) (scale * bax[i]);
            }
        }
        return y;
    }

    private float[] rms(float[] x, float[] weight) {
        double ss = 0;
        for (float f : x) {
            ss += (double) f * f;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] * inv * weight[i]);
        }
        return out;
    }

    private float[] perHead(float[] x, int heads, float[] weight) {
        int d = c.headDim();
        float[] out = new float[x.length];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(rms(slice(x, h * d, d), weight), 0, out, h * d, d);
        }
        return out;
    }

    // rotate_half pairs dimension i with i + d/2
    private void rope(float[] x, int heads, int position) {
        int d = c.headDim();
        double[] inv = c.ropeInverseFrequencies();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                double angle = (float) inv[i] * (float) position;
                double cos = Math.cos(angle);
                double sin = Math.sin(angle);
                int a = h * d + i;
                int b = a + d / 2;
                double x1 = x[a];
                double x2 = x[b];
                x[a] = (float) (x1 * cos - x2 * sin);
                x[b] = (float) (x2 * cos + x1 * sin);
            }
        }
    }

    private static float[] matVec(float[] m, float[] x, int rows) {
        float[] out = new float[rows];
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            int base = r * x.length;
            for (int i = 0; i < x.length; i++) {
                acc += (double) m[base + i] * x[i];
            }
            out[r] = (float) acc;
        }
        return out;
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[] slice(float[] a, int from, int len) {
        float[] out = new float[len];
        System.arraycopy(a, from, out, 0, len);
        return out;
    }
}
