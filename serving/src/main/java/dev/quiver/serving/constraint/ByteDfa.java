package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

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

    private ByteDfa(int[] next, boolean[] accepting) {
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

    /** The byte automaton of {@code chars}; state 0 is the start. */
    static ByteDfa of(Automaton chars) {
        Automaton bytes = new Automaton();
        Map<State, State> copies = new IdentityHashMap<>();
        Deque<State> work = new ArrayDeque<>();
        State start = chars.getInitialState();
        copies.put(start, copy(start));
        work.add(start);
        while (!work.isEmpty()) {
            State s = work.poll();
            State from = copies.get(s);
            for (Transition t : s.getTransitions()) {
                State dest = t.getDest();
                if (!copies.containsKey(dest)) {
                    copies.put(dest, copy(dest));
                    work.add(dest);
                }
                for (int[] part : withoutSurrogates(t.getMin(), t.getMax())) {
                    Utf8Ranges.each(part[0], part[1], seq -> chain(from, seq, copies.get(dest)));
                }
            }
        }
        bytes.setInitialState(copies.get(start));
        bytes.setDeterministic(false);
        bytes.minimize();
        return table(bytes);
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

    private static State copy(State s) {
        State c = new State();
        c.setAccept(s.isAccept());
        return c;
    }

    private static void chain(State from, int[][] seq, State dest) {
        State at = from;
        for (int i = 0; i < seq.length; i++) {
            State to = i == seq.length - 1 ? dest : new State();
            at.addTransition(new Transition((char) seq[i][0], (char) seq[i][1], to));
            at = to;
        }
    }

    private static int[][] withoutSurrogates(char min, char max) {
        if (max < Chars.SURROGATE_MIN || min > Chars.SURROGATE_MAX) {
            return new int[][] {{min, max}};
        }
        int[][] out = new int[2][];
        int n = 0;
        if (min < Chars.SURROGATE_MIN) {
            out[n++] = new int[] {min, Chars.SURROGATE_MIN - 1};
        }
        if (max > Chars.SURROGATE_MAX) {
            out[n++] = new int[] {Chars.SURROGATE_MAX + 1, max};
        }
        return Arrays.copyOf(out, n);
    }

    /** Numbers the minimal automaton's states from its start and lays them out as a dense table. */
    private static ByteDfa table(Automaton bytes) {
        Map<State, Integer> ids = new IdentityHashMap<>();
        Deque<State> order = new ArrayDeque<>();
        ids.put(bytes.getInitialState(), 0);
        order.add(bytes.getInitialState());
        List<State> states = new ArrayList<>();
        while (!order.isEmpty()) {
            State s = order.poll();
            states.add(s);
            for (Transition t : s.getTransitions()) {
                if (!ids.containsKey(t.getDest())) {
                    ids.put(t.getDest(), ids.size());
                    order.add(t.getDest());
                }
            }
        }
        int[] next = new int[states.size() * 256];
        Arrays.fill(next, DEAD);
        boolean[] accepting = new boolean[states.size()];
        for (int i = 0; i < states.size(); i++) {
            State s = states.get(i);
            accepting[i] = s.isAccept();
            for (Transition t : s.getTransitions()) {
                Arrays.fill(next, i * 256 + t.getMin(), i * 256 + t.getMax() + 1, ids.get(t.getDest()));
            }
        }
        return new ByteDfa(next, accepting);
    }
}
