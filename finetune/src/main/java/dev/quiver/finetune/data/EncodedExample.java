package dev.quiver.finetune.data;

/**
 * A tokenized example: {@code targets[i]} says whether token {@code i} is learned, i.e. whether the
 * loss includes predicting it from the tokens before it.
 *
 * @param line      the JSONL line it came from
 * @param truncated whether it was cut to the maximum sequence length
 */
public record EncodedExample(int line, int[] ids, boolean[] targets, boolean truncated) {

    public EncodedExample {
        if (ids.length != targets.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + targets.length + " target flags");
        }
    }

    public int length() {
        return ids.length;
    }

    /** Learned tokens; the first token is never one, as nothing precedes it. */
    public int targetCount() {
        int n = 0;
        for (int i = 1; i < targets.length; i++) {
            if (targets[i]) {
                n++;
            }
        }
        return n;
    }
}
