package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicAutomata;

/**
 * The characters a constraint may produce: the Basic Multilingual Plane without surrogates, so that every
 * character the automaton reads is one whole UTF-8 sequence (characters beyond it are refused where they
 * would be needed, and escaped in JSON literals).
 */
final class Chars {
    static final char SURROGATE_MIN = '\uD800';
    static final char SURROGATE_MAX = '\uDFFF';

    private Chars() {
    }

    /** Any character of the universe. */
    static Automaton any() {
        return BasicAutomata.makeCharRange('\u0000', (char) (SURROGATE_MIN - 1))
                .union(BasicAutomata.makeCharRange((char) (SURROGATE_MAX + 1), '\uFFFF'));
    }

    /** Any character of the universe except those of {@code excluded} (a one-character language). */
    static Automaton anyExcept(Automaton excluded) {
        return any().minus(excluded);
    }

    /** Refuses text with characters outside the universe, naming {@code keyword} at {@code path}. */
    static String requireBmp(String text, String path, String keyword) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isSurrogate(text.charAt(i))) {
                throw new ConstraintException(path, keyword, "characters beyond U+FFFF (such as emoji) are not"
                        + " supported in " + keyword + "; write them as JSON \\u escapes or leave them out");
            }
        }
        return text;
    }
}
