package dev.quiver.finetune.model;

/**
 * The additive attention mask of a batch of token rows: a query sees keys at or before it in its own
 * segment. Blocked entries get fp32's lowest value, as transformers uses, so softmax gives them exactly
 * zero weight; padding sees only itself so that no row is fully masked.
 */
final class AttentionMask {
    static final float BLOCKED = -Float.MAX_VALUE;

    private AttentionMask() {
    }

    /** {@code rows x length x length} values, row-major. */
    static float[] of(Tokens tokens) {
        int t = tokens.length();
        int[] seg = tokens.segments();
        float[] mask = new float[tokens.rows() * t * t];
        for (int r = 0; r < tokens.rows(); r++) {
            int rowBase = r * t;
            for (int i = 0; i < t; i++) {
                int q = seg[rowBase + i];
                int out = (r * t + i) * t;
                for (int j = 0; j < t; j++) {
                    boolean visible = j == i || (j < i && q != 0 && seg[rowBase + j] == q);
                    mask[out + j] = visible ? 0f : BLOCKED;
                }
            }
        }
        return mask;
    }
}
