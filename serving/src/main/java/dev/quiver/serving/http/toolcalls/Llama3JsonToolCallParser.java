package dev.quiver.serving.http.toolcalls;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Llama 3.x's JSON format: the whole answer is {@code {"name": ..., "parameters": {...}}}, optionally after
 * {@code <|python_tag|>} and, for several calls, separated by {@code ;} (as vLLM's {@code llama3_json}
 * parser reads it). An answer that starts otherwise is plain content and streams at once; one that starts
 * like a call is held to the end, because only the whole answer tells whether it is one.
 */
public final class Llama3JsonToolCallParser implements ToolCallParser {
    static final String PYTHON_TAG = "<|python_tag|>";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public ToolCallStream stream() {
        return new Stream();
    }

    @Override
    public CallFrame frame() {
        return new CallFrame("", "parameters", "");
    }

    /** The calls {@code answer} consists of, or empty when any part of it is not a call. */
    static Optional<List<ToolCall>> calls(String answer) {
        String text = answer.strip();
        if (text.startsWith(PYTHON_TAG)) {
            text = text.substring(PYTHON_TAG.length());
        }
        List<ToolCall> calls = new ArrayList<>();
        int at = 0;
        while (true) {
            at = skipSeparators(text, at, !calls.isEmpty());
            if (at < 0) {
                return Optional.empty();
            }
            if (at == text.length()) {
                return calls.isEmpty() ? Optional.empty() : Optional.of(calls);
            }
            Optional<ToolCall> call;
            try (JsonParser one = JSON.createParser(text.substring(at))) {
                call = CallJson.call(JSON.readTree(one));
                at += (int) one.currentLocation().getCharOffset();
            } catch (IOException e) {
                return Optional.empty();
            }
            if (call.isEmpty()) {
                return Optional.empty();
            }
            calls.add(call.get());
        }
    }

    /** The index after whitespace (and one {@code ;} between calls), or -1 when a separator is missing. */
    private static int skipSeparators(String text, int at, boolean betweenCalls) {
        boolean separated = !betweenCalls;
        while (at < text.length()) {
            char c = text.charAt(at);
            if (c == ';' && !separated) {
                separated = true;
            } else if (!Character.isWhitespace(c)) {
                return separated ? at : -1;
            }
            at++;
        }
        return at;
    }

    private static final class Stream implements ToolCallStream {
        private final StringBuilder held = new StringBuilder();
        private Boolean mayBeCall;

        @Override
        public List<ToolCallEvent> add(String text) {
            if (Boolean.FALSE.equals(mayBeCall)) {
                return text.isEmpty() ? List.of() : List.of(new ToolCallEvent.Content(text));
            }
            held.append(text);
            if (mayBeCall == null) {
                String start = held.toString().stripLeading();
                if (start.isEmpty() || PYTHON_TAG.startsWith(start)) {
                    return List.of();
                }
                mayBeCall = start.startsWith("{") || start.startsWith(PYTHON_TAG);
                if (!mayBeCall) {
                    return release();
                }
            }
            return List.of();
        }

        @Override
        public List<ToolCallEvent> finish() {
            if (Boolean.TRUE.equals(mayBeCall)) {
                Optional<List<ToolCall>> calls = calls(held.toString());
                if (calls.isPresent()) {
                    held.setLength(0);
                    return calls.get().stream().<ToolCallEvent>map(ToolCallEvent.Call::new).toList();
                }
            }
            return release();
        }

        private List<ToolCallEvent> release() {
            String text = held.toString();
            held.setLength(0);
            return text.isEmpty() ? List.of() : List.of(new ToolCallEvent.Content(text));
        }
    }
}
