package dev.quiver.finetune.data;

import dev.quiver.finetune.model.Tokens;

/**
 * A micro-batch: token rows and, at each position, the id of the token the model must predict next
 * ({@code -1} where the next token is not learned, is in another example, or is padding).
 */
public record Batch(Tokens tokens, int[] targets) {

    public Batch {
        if (targets.length != tokens.ids().length) {
            throw new IllegalArgumentException(targets.length + " targets for " + tokens.ids().length + " tokens");
        }
    }

    public int targetCount() {
        int n = 0;
        for (int t : targets) {
            if (t >= 0) {
                n++;
            }
        }
        return n;
    }
}
