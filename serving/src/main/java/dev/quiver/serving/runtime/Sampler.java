package dev.quiver.serving.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row's logits: greedy, or temperature, then top-k, then top-p (nucleus)
 * sampling with the sequence's own random generator, so a seed reproduces a sequence. Log-probabilities
 * are reported from the raw logits, as vLLM does by default.
 */
public final class Sampler {

    public SampledToken sample(float[] logits, SamplingParams params, SplittableRandom rng) {
        int token = params.greedy() ? argmax(logits) : draw(logits, params, rng);
        if (!params.logprobs()) {
            return new SampledToken(token, Double.NaN, List.of());
        }
        double logZ = logSumExp(logits, 1.0);
        List<TokenLogprob> top = new ArrayList<>();
        if (params.topLogprobs() > 0) {
            for (int id : largest(logits, params.topLogprobs())) {
                top.add(new TokenLogprob(id, logits[id] - logZ));
            }
        }
        return new SampledToken(token, logits[token] - logZ, top);
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int draw(float[] logits, SamplingParams params, SplittableRandom rng) {
        double t = params.temperature();
        int[] candidates = params.topK() > 0 && params.topK() < logits.length
                ? largest(logits, params.topK()) : null;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < count(candidates, logits); i++) {
            max = Math.max(max, logits[id(candidates, i)]);
        }
        int n = count(candidates, logits);
        double[] p = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[id(candidates, i)] - max) / t);
            total += p[i];
        }
        if (params.topP() < 1.0) {
            // sort by probability, descending, keep the smallest prefix whose mass reaches top_p
            long[] keyed = new long[n];
            for (int i = 0; i < n; i++) {
                keyed[i] = ((long) Float.floatToIntBits((float) (p[i] / total)) << 32) | i;
            }
            Arrays.sort(keyed);
            double kept = 0;
            boolean[] keep = new boolean[n];
            for (int j = n - 1; j >= 0; j--) {
                int i = (int) keyed[j];
                keep[i] = true;
                kept += p[i] / total;
                if (kept >= params.topP()) {
                    break;
                }
            }
            total = 0;
            for (int i = 0; i < n; i++) {
                if (!keep[i]) {
                    p[i] = 0;
                }
                total += p[i];
            }
        }
        double u = rng.nextDouble() * total;
        int last = 0;
        for (int i = 0; i < n; i++) {
            if (p[i] == 0) {
                continue;
            }
            last = i;
            u -= p[i];
            if (u < 0) {
                return id(candidates, i);
            }
        }
        return id(candidates, last);
    }

    private static int count(int[] candidates, float[] logits) {
        return candidates == null ? logits.length : candidates.length;
    }

    private static int id(int[] candidates, int i) {
        return candidates == null ? i : candidates[i];
    }

    /** The ids of the {@code k} largest logits, largest first (ties: lower id first). */
    static int[] largest(float[] logits, int k) {
        k = Math.min(k, logits.length);
        // a small sorted window beats sorting the whole vocabulary for the k <= 20..50 used in practice
        int[] ids = new int[k];
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            if (size == k && logits[i] <= logits[ids[k - 1]]) {
                continue;
            }
            int pos = size < k ? size++ : k - 1;
            while (pos > 0 && logits[ids[pos - 1]] < logits[i]) {
                ids[pos] = ids[pos - 1];
                pos--;
            }
            ids[pos] = i;
        }
        return ids;
    }

    private static double logSumExp(float[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp((l - max) / temperature);
        }
        return max + Math.log(sum);
    }
}
