package dev.quiver.serving.http.toolcalls;

import java.util.ArrayList;
import java.util.List;

/**
 * A finished answer split into OpenAI's message fields.
 *
 * @param content the text outside the calls, null when there is none (OpenAI's {@code content: null})
 */
public record ParsedAnswer(String content, List<ToolCall> calls) {
    public ParsedAnswer {
        calls = List.copyOf(calls);
    }

    static ParsedAnswer of(List<ToolCallEvent> events) {
        StringBuilder text = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content c) {
                text.append(c.text());
            } else if (e instanceof ToolCallEvent.Call c) {
                calls.add(c.call());
            }
        }
        // an answer without calls keeps its text exactly, even when it is empty
        String content = calls.isEmpty() || !text.isEmpty() ? text.toString() : null;
        return new ParsedAnswer(content, calls);
    }
}
