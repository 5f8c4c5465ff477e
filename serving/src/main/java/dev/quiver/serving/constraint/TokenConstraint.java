package dev.quiver.serving.constraint;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A compiled constraint over one vocabulary: the byte automaton and, per state, the mask of allowed tokens,
 * computed the first time a sequence reaches that state and kept (shared by every sequence decoding under it).
 */
public final class TokenConstraint {
    private final String description;
    private final ByteDfa dfa;
    private final TokenVocabulary vocabulary;
    private final AtomicReferenceArray<long[]> masks;
    private final AtomicLong maskBytes = new AtomicLong();

    TokenConstraint(String description, ByteDfa dfa, TokenVocabulary vocabulary) {
        this.description = description;
        this.dfa = dfa;
        this.vocabulary = vocabulary;
        this.masks = new AtomicReferenceArray<>(dfa.states());
        mask(dfa.start());
    }

    /** A fresh per-sequence state at the start of the value. */
    public ConstraintState start() {
        return new ConstraintState(this, dfa.start());
    }

    /** What it constrains to, e.g. {@code json_schema "ticket"}. */
    public String description() {
        return description;
    }

    /** States of the byte automaton. */
    public int states() {
        return dfa.states();
    }

    /** Memory held: the automaton's table plus the masks built so far. */
    public long memoryBytes() {
        return dfa.memoryBytes() + maskBytes.get();
    }

    long[] mask(int state) {
        long[] m = masks.get(state);
        if (m == null) {
            m = vocabulary.allowed(dfa, state);
            if (masks.compareAndSet(state, null, m)) {
                maskBytes.addAndGet(8L * m.length + 16);
            } else {
                m = masks.get(state);
            }
        }
        return m;
    }

    ByteDfa dfa() {
        return dfa;
    }

    TokenVocabulary vocabulary() {
        return vocabulary;
    }
}
