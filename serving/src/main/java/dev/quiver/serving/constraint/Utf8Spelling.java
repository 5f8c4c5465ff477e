package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Spells a minimal character DFA in UTF-8 bytes as table rows, deterministic and minimal by construction, so no
 * byte-level determinisation or minimisation pass is needed (that pass was most of a large schema's compile).
 * Each character state keeps its row; the byte prefixes of its ranges form a small trie (a byte range that
 * spans several lead or continuation bytes always has every continuation below it, so the trie never blows up),
 * and the mid-character states are hash-consed by their rows. The result is minimal because distinct character
 * states stay distinguishable (no surrogates: the characters are whole UTF-8 sequences), a mid-character state
 * reads only continuation bytes while a character state never does, and equal rows are merged bottom up.
 */
final class Utf8Spelling {
    private final Map<State, Integer> charIds = new IdentityHashMap<>();
    private final List<int[]> rows = new ArrayList<>();
    private final Map<Row, Integer> midIds = new HashMap<>();

    private Utf8Spelling() {
    }

    /** The byte automaton of minimal character DFA {@code chars}, its start state 0. */
    static ByteDfa of(Automaton chars) {
        Automaton bmp = withoutSurrogates(chars);
        Utf8Spelling s = new Utf8Spelling();
        List<State> states = s.numberFrom(bmp.getInitialState());
        for (int i = 0; i < states.size(); i++) {
            s.rows.set(i, s.rowOf(s.trieOf(states.get(i))));
        }
        int[] next = new int[s.rows.size() * 256];
        for (int i = 0; i < s.rows.size(); i++) {
            System.arraycopy(s.rows.get(i), 0, next, i * 256, 256);
        }
        boolean[] accepting = new boolean[s.rows.size()];
        for (int i = 0; i < states.size(); i++) {
            accepting[i] = states.get(i).isAccept();
        }
        return new ByteDfa(next, accepting);
    }

    /**
     * {@code chars} without surrogate transitions. Only a class range spanning them in a guided regex has any;
     * they cannot be spelled alone in UTF-8, and dropping them may leave states dead or equal, so re-minimise.
     */
    private static Automaton withoutSurrogates(Automaton chars) {
        for (State s : chars.getStates()) {
            for (Transition t : s.getTransitions()) {
                if (t.getMin() <= Chars.SURROGATE_MAX && t.getMax() >= Chars.SURROGATE_MIN) {
                    Automaton bmp = chars.intersection(Chars.any().repeat());
                    bmp.minimize();
                    return bmp;
                }
            }
        }
        return chars;
    }

    /** Numbers the character states breadth first from {@code start}, which gets 0, reserving their rows. */
    private List<State> numberFrom(State start) {
        List<State> order = new ArrayList<>();
        Deque<State> work = new ArrayDeque<>();
        charIds.put(start, 0);
        work.add(start);
        while (!work.isEmpty()) {
            State s = work.poll();
            order.add(s);
            rows.add(null);
            for (Transition t : s.getTransitions()) {
                if (!charIds.containsKey(t.getDest())) {
                    charIds.put(t.getDest(), charIds.size());
                    work.add(t.getDest());
                }
            }
        }
        return order;
    }

    private Node trieOf(State s) {
        Node root = new Node();
        for (Transition t : s.getTransitions()) {
            int dest = charIds.get(t.getDest());
            Utf8Ranges.each(t.getMin(), t.getMax(), seq -> root.insert(seq, 0, dest));
        }
        return root;
    }

    /** The row of {@code node}, its children replaced by the ids of their canonical mid-character states. */
    private int[] rowOf(Node node) {
        int[] row = node.next.clone();
        Map<Node, Integer> done = new IdentityHashMap<>();
        for (int b = 0; b < 256; b++) {
            Node c = node.child[b];
            if (c != null) {
                row[b] = done.computeIfAbsent(c, this::midState);
            }
        }
        return row;
    }

    private int midState(Node node) {
        int[] row = rowOf(node);
        return midIds.computeIfAbsent(new Row(row), r -> {
            rows.add(row);
            return rows.size() - 1;
        });
    }

    /** A trie node: per byte, a character state reached ({@code next}) or the node of the bytes still to come. */
    private static final class Node {
        final int[] next;
        final Node[] child;

        Node() {
            next = new int[256];
            Arrays.fill(next, ByteDfa.DEAD);
            child = new Node[256];
        }

        private Node(Node of) {
            next = of.next.clone();
            child = of.child.clone();
        }

        /** Adds byte-range sequence {@code seq} from {@code level} on, ending in character state {@code dest}. */
        void insert(int[][] seq, int level, int dest) {
            int lo = seq[level][0];
            int hi = seq[level][1];
            if (level == seq.length - 1) {
                Arrays.fill(next, lo, hi + 1, dest);
                return;
            }
            // a child may also serve bytes outside [lo, hi]: extend a copy of it, never the child itself
            Node fresh = null;
            Map<Node, Node> copies = new IdentityHashMap<>();
            for (int b = lo; b <= hi; b++) {
                Node c = child[b];
                if (c == null) {
                    fresh = fresh == null ? new Node() : fresh;
                    child[b] = fresh;
                } else {
                    child[b] = copies.computeIfAbsent(c, Node::new);
                }
            }
            if (fresh != null) {
                fresh.insert(seq, level + 1, dest);
            }
            for (Node c : copies.values()) {
                c.insert(seq, level + 1, dest);
            }
        }
    }

    /** A row as a hash key. */
    private record Row(int[] next) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Row r && Arrays.equals(next, r.next);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(next);
        }
    }
}
