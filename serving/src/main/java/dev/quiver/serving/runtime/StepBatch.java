package dev.quiver.serving.runtime;

import java.util.Arrays;

/**
 * One forward step over KV rows {@code [firstRow, firstRow + rows)}: each row's new tokens, how many
 * positions it already holds, its adapter slot, and which of its new positions need logits.
 */
public record StepBatch(int firstRow, int[][] tokens, int[] pastLengths, int[] slots, int[][] logitPositions) {

    public StepBatch {
        int b = tokens.length;
        if (b == 0 || pastLengths.length != b || slots.length != b || logitPositions.length != b) {
            throw new IllegalArgumentException("a step needs one entry per row in tokens, pastLengths, slots and"
                    + " logitPositions; got " + b + ", " + pastLengths.length + ", " + slots.length + ", "
                    + logitPositions.length);
        }
        int s = tokens[0].length;
        int k = logitPositions[0].length;
        for (int r = 0; r < b; r++) {
            if (tokens[r].length != s || tokens[r].length == 0) {
                throw new IllegalArgumentException("every row of a step must have the same number of new tokens (>0): "
                        + Arrays.toString(Arrays.stream(tokens).mapToInt(t -> t.length).toArray()));
            }
            if (logitPositions[r].length != k) {
                throw new IllegalArgumentException("every row of a step must ask for the same number of logits");
            }
            for (int p : logitPositions[r]) {
                if (p < 0 || p >= s) {
                    throw new IllegalArgumentException("logit position " + p + " outside the " + s + " new tokens");
                }
            }
        }
    }

    /** A decode step: one new token per row of rows {@code [0, tokens.length)}, logits for it. */
    public static StepBatch decode(int[] tokens, int[] pastLengths, int[] slots) {
        int[][] t = new int[tokens.length][];
        int[][] pos = new int[tokens.length][];
        for (int r = 0; r < tokens.length; r++) {
            t[r] = new int[] {tokens[r]};
            pos[r] = new int[] {0};
        }
        return new StepBatch(0, t, pastLengths, slots, pos);
    }

    /** A prefill of one row: {@code tokens} after {@code pastLength} cached positions; logits for all or the last. */
    public static StepBatch prefill(int row, int[] tokens, int pastLength, int slot, boolean allPositions) {
        int[] pos = allPositions ? java.util.stream.IntStream.range(0, tokens.length).toArray()
                : new int[] {tokens.length - 1};
        return new StepBatch(row, new int[][] {tokens}, new int[] {pastLength}, new int[] {slot}, new int[][] {pos});
    }

    /**
     * A prefill chunk of one row that asks for no logits: a long prompt's chunks before its last only fill
     * the KV row, and skipping the LM head saves {@code vocab x hidden} multiply-adds per chunk.
     */
    public static StepBatch prefillWithoutLogits(int row, int[] tokens, int pastLength, int slot) {
        return new StepBatch(row, new int[][] {tokens}, new int[] {pastLength}, new int[] {slot}, new int[][] {{}});
    }

    public int rows() {
        return tokens.length;
    }

    public int newTokens() {
        return tokens[0].length;
    }
}
