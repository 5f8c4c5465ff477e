package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import java.nio.charset.StandardCharsets;

/**
 * A minimal deterministic automaton over UTF-8 bytes, as a dense table ({@code next[state * 256 + byte]}, -1
 * dead), made from a character automaton by spelling every character range as its UTF-8 byte sequences; so a
 * token that ends inside a multi-byte character leaves the automaton between that character's bytes.
 */
final class ByteDfa {
    static final int DEAD = -1;

    private final int[] next;
    private final boolean[] accepting;
    private final boolean[] terminal;

    /** {@code next[state * 256 + byte]} ({@link #DEAD} for none) and which states accept. */
    ByteDfa(int[] next, boolean[] accepting) {
        this.next = next;
        this.accepting = accepting;
        this.terminal = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            boolean leaves = false;
            for (int b = 0; b < 256 && !leaves; b++) {
                leaves = next[s * 256 + b] != DEAD;
            }
            terminal[s] = accepting[s] && !leaves;
        }
    }

    /** The byte automaton of minimal character DFA {@code chars}; state 0 is the start. */
    static ByteDfa of(Automaton chars) {
        return Utf8Spelling.of(chars);
    }

    int start() {
        return 0;
    }

    /** The state after {@code b} from {@code state}, or {@link #DEAD}. */
    int next(int state, int b) {
        return next[state * 256 + (b & 0xFF)];
    }

    /** The state after all of {@code bytes}, or {@link #DEAD}. */
    int walk(int state, byte[] bytes) {
        for (int i = 0; i < bytes.length && state != DEAD; i++) {
            state = next[state * 256 + (bytes[i] & 0xFF)];
        }
        return state;
    }

    boolean accepting(int state) {
        return accepting[state];
    }

    /** Accepting with nowhere to go: the value is complete and only the end may follow. */
    boolean terminal(int state) {
        return terminal[state];
    }

    int states() {
        return accepting.length;
    }

    long memoryBytes() {
        return 4L * next.length + 2L * accepting.length;
    }

    /** Whether the automaton accepts {@code text} as a whole. */
    boolean matches(String text) {
        int s = walk(start(), text.getBytes(StandardCharsets.UTF_8));
        return s != DEAD && accepting(s);
    }
}
