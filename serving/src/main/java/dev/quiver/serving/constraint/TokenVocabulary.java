package dev.quiver.serving.constraint;

import dev.quiver.adapters.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Collection;

/**
 * A tokenizer's text tokens as a byte trie, walked against a {@link ByteDfa} to find every token whose bytes
 * keep the automaton alive in one pass that shares common prefixes; and the end-of-sequence ids, which a
 * constraint allows only where its value is complete.
 */
public final class TokenVocabulary {
    private final int size;
    private final byte[][] bytes;
    private final int[] eos;
    // the trie: node 0 is the root; children as first-child / next-sibling lists
    private int[] firstChild = new int[1024];
    private int[] nextSibling = new int[1024];
    private byte[] label = new byte[1024];
    private int[] firstToken = new int[1024];
    private final int[] nextToken;
    private int nodes = 1;

    /** {@code size} ids in all (the logits' width); {@code bytes[id]} null for ids that are not text. */
    TokenVocabulary(int size, byte[][] bytes, Collection<Integer> eosTokenIds) {
        this.size = size;
        this.bytes = bytes;
        this.eos = eosTokenIds.stream().mapToInt(Integer::intValue).filter(id -> id >= 0 && id < size).toArray();
        this.nextToken = new int[size];
        Arrays.fill(firstChild, -1);
        Arrays.fill(nextSibling, -1);
        Arrays.fill(firstToken, -1);
        for (int id = 0; id < Math.min(size, bytes.length); id++) {
            if (bytes[id] != null && bytes[id].length > 0) {
                int node = insert(bytes[id]);
                nextToken[id] = firstToken[node];
                firstToken[node] = id;
            }
        }
    }

    /** The text tokens of {@code tokenizer}, {@code size} logits wide. */
    public static TokenVocabulary of(Tokenizer tokenizer, int size, Collection<Integer> eosTokenIds) {
        byte[][] bytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            bytes[id] = tokenizer.tokenBytes(id);
        }
        return new TokenVocabulary(size, bytes, eosTokenIds);
    }

    int size() {
        return size;
    }

    /** The bytes of token {@code id}, null for a token that is not text. */
    byte[] bytes(int id) {
        return id >= 0 && id < bytes.length ? bytes[id] : null;
    }

    boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    /** The tokens allowed in {@code state}, as a bit set over ids: text tokens that stay alive, and EOS if accepting. */
    long[] allowed(ByteDfa dfa, int state) {
        long[] mask = new long[(size + 63) >>> 6];
        int[] nodeStack = new int[64];
        int[] stateStack = new int[64];
        int top = 0;
        nodeStack[top] = 0;
        stateStack[top++] = state;
        while (top > 0) {
            int node = nodeStack[--top];
            int at = stateStack[top];
            for (int c = firstChild[node]; c >= 0; c = nextSibling[c]) {
                int to = dfa.next(at, label[c]);
                if (to == ByteDfa.DEAD) {
                    continue;
                }
                for (int id = firstToken[c]; id >= 0; id = nextToken[id]) {
                    mask[id >>> 6] |= 1L << id;
                }
                if (firstChild[c] >= 0) {
                    if (top == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, top * 2);
                        stateStack = Arrays.copyOf(stateStack, top * 2);
                    }
                    nodeStack[top] = c;
                    stateStack[top++] = to;
                }
            }
        }
        // a vocabulary that cannot spell the next character (no single-byte tokens) may only end the sequence
        if (dfa.accepting(state) || Arrays.stream(mask).allMatch(w -> w == 0)) {
            for (int id : eos) {
                mask[id >>> 6] |= 1L << id;
            }
        }
        return mask;
    }

    private int insert(byte[] token) {
        int node = 0;
        for (byte b : token) {
            int child = firstChild[node];
            while (child >= 0 && label[child] != b) {
                child = nextSibling[child];
            }
            if (child < 0) {
                child = newNode(b);
                nextSibling[child] = firstChild[node];
                firstChild[node] = child;
            }
            node = child;
        }
        return node;
    }

    private int newNode(byte b) {
        if (nodes == label.length) {
            int n = nodes * 2;
            firstChild = grow(firstChild, n);
            nextSibling = grow(nextSibling, n);
            firstToken = grow(firstToken, n);
            label = Arrays.copyOf(label, n);
        }
        label[nodes] = b;
        return nodes++;
    }

    private static int[] grow(int[] a, int n) {
        int[] out = Arrays.copyOf(a, n);
        Arrays.fill(out, a.length, n, -1);
        return out;
    }
}
