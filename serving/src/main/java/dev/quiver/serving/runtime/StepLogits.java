package dev.quiver.serving.runtime;

import java.nio.FloatBuffer;

/**
 * One step's logits, {@code [row][logitPosition][vocab]}, where the step left them: for a step with one logit
 * position per row that is the session's own buffer, which the next {@link DecoderSession#step} overwrites, so
 * read them (or {@link #toArray copy} them) before running the session again.
 */
public final class StepLogits {
    private final FloatBuffer values;
    private final int rows;
    private final int positions;
    private final int vocab;

    StepLogits(FloatBuffer values, int rows, int positions, int vocab) {
        if (values.remaining() < (long) rows * positions * vocab) {
            throw new IllegalArgumentException("a [" + rows + ", " + positions + ", " + vocab + "] logits buffer holds "
                    + values.remaining() + " floats");
        }
        this.values = values;
        this.rows = rows;
        this.positions = positions;
        this.vocab = vocab;
    }

    public int rows() {
        return rows;
    }

    public int vocab() {
        return vocab;
    }

    /** Copies the first {@code into.length} logits (at most the vocabulary) of row {@code r}'s position {@code j}. */
    public void copy(int r, int j, float[] into) {
        if (r < 0 || r >= rows || j < 0 || j >= positions || into.length > vocab) {
            throw new IndexOutOfBoundsException("row " + r + ", position " + j + ", " + into.length
                    + " logits of a [" + rows + ", " + positions + ", " + vocab + "] step");
        }
        values.get(values.position() + (r * positions + j) * vocab, into);
    }

    /** A copy of every row's logits, {@code [row][logitPosition][vocab]}, that outlives the next step. */
    public float[][][] toArray() {
        float[][][] out = new float[rows][positions][vocab];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < positions; j++) {
                copy(r, j, out[r][j]);
            }
        }
        return out;
    }
}
