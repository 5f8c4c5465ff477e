package dev.quiver.serving.constraint;

/** One sequence's place in its {@link TokenConstraint}, advanced by each token it samples. */
public final class ConstraintState {
    private final TokenConstraint constraint;
    private int state;

    ConstraintState(TokenConstraint constraint, int state) {
        this.constraint = constraint;
        this.state = state;
    }

    /**
     * Masks one row's logits in place: {@code l'[v] = l[v] if v ∈ M(q) else −∞}, where {@code M(q)} is the set of
     * tokens allowed in this sequence's state {@code q} (EOS only where q accepts).
     */
    public void apply(float[] logits) {
        long[] mask = constraint.mask(state);
        int n = Math.min(logits.length, mask.length << 6);
        for (int w = 0; w < mask.length; w++) {
            long forbidden = ~mask[w];
            while (forbidden != 0) {
                int v = (w << 6) + Long.numberOfTrailingZeros(forbidden);
                if (v >= n) {
                    break;
                }
                logits[v] = Float.NEGATIVE_INFINITY;
                forbidden &= forbidden - 1;
            }
        }
        for (int v = n; v < logits.length; v++) {
            logits[v] = Float.NEGATIVE_INFINITY;
        }
    }

    /** Moves past sampled token {@code tokenId}; an end-of-sequence token ends the value and moves nothing. */
    public void advance(int tokenId) {
        if (constraint.vocabulary().isEos(tokenId)) {
            return;
        }
        byte[] bytes = constraint.vocabulary().bytes(tokenId);
        int next = bytes == null ? ByteDfa.DEAD : constraint.dfa().walk(state, bytes);
        if (next == ByteDfa.DEAD) {
            throw new IllegalStateException("token " + tokenId + " is not allowed by " + constraint.description()
                    + " here; its logit should have been masked");
        }
        state = next;
    }

    /** Whether the value is complete and nothing may follow it, so generation can stop here. */
    public boolean complete() {
        return constraint.dfa().terminal(state);
    }

    /** Whether the text so far is a complete value (more may still follow). */
    public boolean accepting() {
        return constraint.dfa().accepting(state);
    }
}
