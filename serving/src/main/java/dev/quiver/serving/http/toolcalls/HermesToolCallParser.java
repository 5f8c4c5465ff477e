package dev.quiver.serving.http.toolcalls;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Qwen's and Hermes' format: each call is {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>},
 * one or more per answer, with text around them. Whitespace that touches a call is the template's
 * layout, not content, so it is dropped; a block whose JSON is malformed stays in the content verbatim.
 */
public final class HermesToolCallParser implements ToolCallParser {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    @Override
    public ToolCallStream stream() {
        return new Stream();
    }

    @Override
    public CallFrame frame() {
        // Qwen's and Hermes' templates put each call on its own line between the tags
        return new CallFrame(OPEN + "\n", "arguments", "\n" + CLOSE);
    }

    /**
     * Holds back the end of the text while it could be the start of {@value #OPEN} (or whitespace before
     * one), and each call block until it closes, so a call reaches the client whole or as text, never both.
     */
    private static final class Stream implements ToolCallStream {
        private final StringBuilder pending = new StringBuilder();
        private boolean inCall;
        // whitespace just before the open tag: dropped if the block is a call, content if it is not
        private String spaceBeforeCall = "";
        private boolean afterCall;

        @Override
        public List<ToolCallEvent> add(String text) {
            pending.append(text);
            List<ToolCallEvent> out = new ArrayList<>();
            while (inCall ? closeCall(out) : openCall(out)) {
                // each pass consumes one tag; loop while the pending text holds another
            }
            return out;
        }

        @Override
        public List<ToolCallEvent> finish() {
            List<ToolCallEvent> out = new ArrayList<>();
            String rest = inCall ? spaceBeforeCall + OPEN + pending : pending.toString();
            if (!rest.isEmpty() && !(afterCall && !inCall && rest.isBlank())) {
                out.add(new ToolCallEvent.Content(rest));
            }
            pending.setLength(0);
            return out;
        }

        /** In text: releases what cannot be part of a tag; true when a call block has opened. */
        private boolean openCall(List<ToolCallEvent> out) {
            if (afterCall) {
                int start = 0;
                while (start < pending.length() && Character.isWhitespace(pending.charAt(start))) {
                    start++;
                }
                pending.delete(0, start);
                if (pending.isEmpty()) {
                    return false;
                }
                afterCall = false;
            }
            int open = pending.indexOf(OPEN);
            int end = open >= 0 ? open : pending.length() - partialTag(pending);
            int textEnd = end;
            while (textEnd > 0 && Character.isWhitespace(pending.charAt(textEnd - 1))) {
                textEnd--;
            }
            if (textEnd > 0) {
                out.add(new ToolCallEvent.Content(pending.substring(0, textEnd)));
            }
            if (open < 0) {
                pending.delete(0, textEnd);
                return false;
            }
            spaceBeforeCall = pending.substring(textEnd, open);
            pending.delete(0, open + OPEN.length());
            inCall = true;
            return true;
        }

        /** In a call block: once it closes, releases the call (or the block as text); true when it closed. */
        private boolean closeCall(List<ToolCallEvent> out) {
            int close = pending.indexOf(CLOSE);
            if (close < 0) {
                return false;
            }
            String body = pending.substring(0, close);
            Optional<ToolCall> call = CallJson.parse(body);
            if (call.isPresent()) {
                out.add(new ToolCallEvent.Call(call.get()));
                afterCall = true;
            } else {
                out.add(new ToolCallEvent.Content(spaceBeforeCall + OPEN + body + CLOSE));
            }
            spaceBeforeCall = "";
            pending.delete(0, close + CLOSE.length());
            inCall = false;
            return true;
        }

        /** Length of the longest end of {@code text} that {@value #OPEN} starts with. */
        private static int partialTag(CharSequence text) {
            for (int n = Math.min(OPEN.length() - 1, text.length()); n > 0; n--) {
                if (OPEN.startsWith(text.subSequence(text.length() - n, text.length()).toString())) {
                    return n;
                }
            }
            return 0;
        }
    }
}
