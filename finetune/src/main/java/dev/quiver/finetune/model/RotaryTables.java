package dev.quiver.finetune.model;

import dev.quiver.adapters.model.ModelConfig;

/**
 * RoPE cos/sin tables in transformers' "rotate_half" layout: dimension {@code i} and {@code i + d/2}
 * form a pair and share the angle {@code position * invFreq[i]}. The angle is a single fp32 product of
 * the fp32 inverse frequency and the position, which is what transformers computes, so long positions
 * round the same way in both engines.
 */
final class RotaryTables {
    private final int headDim;
    private final float[] invFreq;

    RotaryTables(ModelConfig config) {
        this.headDim = config.headDim();
        double[] inv = config.ropeInverseFrequencies();
        this.invFreq = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            invFreq[i] = (float) inv[i];
        }
    }

    /** cos and sin for each position, {@code positions.length x headDim} values each, row-major. */
    float[][] cosSin(int[] positions) {
        int half = headDim / 2;
        float[] cos = new float[positions.length * headDim];
        float[] sin = new float[positions.length * headDim];
        for (int t = 0; t < positions.length; t++) {
            int base = t * headDim;
            for (int i = 0; i < half; i++) {
                float angle = invFreq[i] * (float) positions[t];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[base + i] = c;
                cos[base + half + i] = c;
                sin[base + i] = s;
                sin[base + half + i] = s;
            }
        }
        return new float[][] {cos, sin};
    }
}
