package dev.quiver.finetune.model;

import java.util.Arrays;

/**
 * Token rows fed to the decoder: {@code rows x length} ids, each with its RoPE position and the
 * segment (example) it belongs to. Packed rows hold several segments; padding has segment 0.
 * Attention never crosses a segment boundary, so a packed row computes exactly what its examples
 * would compute alone.
 */
public record Tokens(int rows, int length, int[] ids, int[] positions, int[] segments) {

    public Tokens {
        int n = rows * length;
        if (rows <= 0 || length <= 0 || ids.length != n || positions.length != n || segments.length != n) {
            throw new IllegalArgumentException("token rows of " + rows + " x " + length + " need " + n
                    + " ids, positions and segments; got " + ids.length + ", " + positions.length + ", "
                    + segments.length);
        }
    }

    /** One unpadded sequence at positions {@code 0..n-1}. */
    public static Tokens single(int[] ids) {
        int[] positions = new int[ids.length];
        Arrays.setAll(positions, i -> i);
        int[] segments = new int[ids.length];
        Arrays.fill(segments, 1);
        return new Tokens(1, ids.length, ids.clone(), positions, segments);
    }

    /** Ids widened to the int64 that embedding lookups take. */
    long[] idsAsLongs() {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        return out;
    }

    /** Tokens that are not padding. */
    public int realTokens() {
        int n = 0;
        for (int s : segments) {
            if (s != 0) {
                n++;
            }
        }
        return n;
    }
}
