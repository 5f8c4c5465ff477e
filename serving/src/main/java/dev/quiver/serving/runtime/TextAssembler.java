package dev.quiver.serving.runtime;

import dev.quiver.adapters.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a sequence's generated tokens into text deltas for streaming. It holds back text that could still
 * grow into a stop string (and an incomplete UTF-8 character), and cuts the text before the first stop
 * string found, so no stop text ever reaches a client.
 */
final class TextAssembler {
    private final Tokenizer tokenizer;
    private final List<String> stop;
    private final List<Integer> ids = new ArrayList<>();
    private String text = "";
    private int emitted;
    private int prefixOffset;
    private int readOffset;
    private boolean stopped;

    /** {@code tokenizer} may be null when no text is wanted (token ids only, no stop strings). */
    TextAssembler(Tokenizer tokenizer, List<String> stop) {
        if (tokenizer == null && !stop.isEmpty()) {
            throw new IllegalArgumentException("stop strings need a tokenizer: this engine was opened without one");
        }
        this.tokenizer = tokenizer;
        this.stop = stop;
    }

    /** Adds a generated token; returns the text that may now be sent. */
    String add(int tokenId) {
        if (tokenizer == null || stopped) {
            return "";
        }
        ids.add(tokenId);
        text = text + decodeIncrementally();
        int cut = firstStop();
        if (cut >= 0) {
            stopped = true;
            text = text.substring(0, cut);
            return release(text.length());
        }
        return release(text.length() - holdBack());
    }

    /**
     * The text the newest tokens add, decoding only a short window (vLLM's incremental detokenization) so a
     * step costs the same at token 2000 as at token 2. Waits while the window ends inside a UTF-8 character.
     */
    private String decodeIncrementally() {
        String prefix = decode(prefixOffset, readOffset);
        String window = decode(prefixOffset, ids.size());
        if (window.endsWith("\uFFFD") || window.length() <= prefix.length()) {
            return "";
        }
        prefixOffset = readOffset;
        readOffset = ids.size();
        return window.substring(prefix.length());
    }

    private String decode(int from, int to) {
        if (from >= to) {
            return "";
        }
        int[] window = new int[to - from];
        for (int i = from; i < to; i++) {
            window[i - from] = ids.get(i);
        }
        return tokenizer.decode(window, true);
    }

    /** Whether a stop string has ended the text. */
    boolean stopped() {
        return stopped;
    }

    /** The rest of the text at the end of generation, including a window still waiting for UTF-8 bytes. */
    String flush() {
        if (tokenizer != null && !stopped && readOffset < ids.size()) {
            String prefix = decode(prefixOffset, readOffset);
            String window = decode(prefixOffset, ids.size());
            if (window.length() > prefix.length()) {
                text = text + window.substring(prefix.length());
            }
            readOffset = ids.size();
            int cut = firstStop();
            if (cut >= 0) {
                stopped = true;
                text = text.substring(0, cut);
            }
        }
        return release(text.length());
    }

    String text() {
        return text;
    }

    private String release(int upTo) {
        if (upTo <= emitted) {
            return "";
        }
        String delta = text.substring(emitted, upTo);
        emitted = upTo;
        return delta;
    }

    private int firstStop() {
        int best = -1;
        // a stop string can only newly appear in the part not yet emitted, plus its own length before it
        for (String s : stop) {
            int from = Math.max(0, emitted - s.length());
            int at = text.indexOf(s, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    private int holdBack() {
        int hold = 0;
        for (String s : stop) {
            for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                if (text.endsWith(s.substring(0, k))) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }
}
