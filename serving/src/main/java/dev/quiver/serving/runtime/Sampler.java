package dev.quiver.serving.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row's logits: greedy, or temperature, then top-k, then top-p (nucleus)
 * sampling with the sequence's own random generator, so a seed reproduces a sequence. Log-probabilities
 * are reported from the raw logits, as vLLM does by default. Not thread-safe: it reuses its scratch arrays.
 */
public final class Sampler {
    private static final int BUCKET_SHIFT = 16;

    // scratch, reused from call to call: each of the engine's sampling threads has a sampler of its own
    private double[] weights = new double[0];
    private final double[] bucketMass = new double[(Float.floatToIntBits(1f) >>> BUCKET_SHIFT) + 1];
    private int[] keys = new int[0];
    private long[] keyed = new long[16];

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

    private int draw(float[] logits, SamplingParams params, SplittableRandom rng) {
        double t = params.temperature();
        int[] candidates = params.topK() > 0 && params.topK() < logits.length
                ? largest(logits, params.topK()) : null;
        int n = count(candidates, logits);
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[id(candidates, i)]);
        }
        if (weights.length < n) {
            weights = new double[n];
        }
        double[] p = weights;
        double total = 0;
        double scale = 1 / t;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[id(candidates, i)] - max) * scale);
            total += p[i];
        }
        if (!(total > 0 && total < Double.POSITIVE_INFINITY)) {
            // no finite distribution: every logit -inf (masked), a NaN or +inf logit, or a temperature so small
            // that 1 / t overflows; the largest logit is what such a draw tends to
            return candidates == null ? argmax(logits) : candidates[0]; // largest() puts the largest first
        }
        if (params.topP() < 1.0) {
            total = keepNucleus(p, n, total, params.topP());
        }
        double u = rng.nextDouble() * total;
        int last = 0;
        for (int i = 0; i < n; i++) {
            last = p[i] == 0 ? last : i;
            u -= p[i];
            if (u < 0) {
                return id(candidates, i);
            }
        }
        return id(candidates, last);
    }

    /**
     * Zeroes every weight outside the nucleus and returns the mass left: the nucleus is the smallest set of
     * the most likely tokens whose probability reaches {@code topP}, in the order of (probability as a float,
     * id) descending. Buckets of that float's leading bits (exponent and 7 bits of mantissa, so a bucket spans
     * under 1% of probability) find the bucket where the mass reaches {@code topP}, and only that bucket is
     * sorted: a sort of the whole vocabulary took ~8 ms a row at 152k tokens. {@code p} holds {@code n}
     * non-negative weights summing to {@code total}.
     */
    double keepNucleus(double[] p, int n, double total, double topP) {
        if (keys.length < n) {
            keys = new int[n];
        }
        Arrays.fill(bucketMass, 0);
        double inverse = 1 / total;
        for (int i = 0; i < n; i++) {
            keys[i] = Float.floatToIntBits((float) (p[i] * inverse)); // non-negative floats order as their bits
            bucketMass[keys[i] >>> BUCKET_SHIFT] += p[i];
        }
        double reach = topP * total;
        double above = 0;
        int boundary = bucketMass.length - 1;
        while (boundary >= 0 && above + bucketMass[boundary] < reach) {
            above += bucketMass[boundary--];
        }
        if (boundary < 0) {
            return total; // rounding left the whole vocabulary short of top_p: keep it all
        }
        int members = 0;
        for (int i = 0; i < n; i++) {
            if (keys[i] >>> BUCKET_SHIFT == boundary) {
                if (members == keyed.length) {
                    keyed = Arrays.copyOf(keyed, 2 * members);
                }
                keyed[members++] = ((long) keys[i] << 32) | i;
            }
        }
        Arrays.sort(keyed, 0, members);
        long last = keyed[members - 1];
        for (int j = members - 1; j >= 0; j--) {
            last = keyed[j];
            above += p[(int) last];
            if (above >= reach) {
                break;
            }
        }
        // every token of a lower bucket orders below last, every token of a higher one above it
        double kept = 0;
        for (int i = 0; i < n; i++) {
            p[i] = (((long) keys[i] << 32) | i) < last ? 0 : p[i];
            kept += p[i];
        }
        return kept;
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
