package dev.quiver.serving.http.toolcalls;

import java.util.ArrayList;
import java.util.List;

/** A model family's tool-call format: how its answers spell function calls. */
public interface ToolCallParser {

    /** A fresh stream for one choice. */
    ToolCallStream stream();

    /** How one call is spelled, for {@code tool_choice} {@code required} or a named function. */
    CallFrame frame();

    /**
     * Parses a finished answer. It runs the stream over the whole text, so that a streamed choice and a
     * non-streamed one always split the same answer the same way.
     */
    default ParsedAnswer parse(String text) {
        ToolCallStream stream = stream();
        List<ToolCallEvent> events = new ArrayList<>(stream.add(text));
        events.addAll(stream.finish());
        return ParsedAnswer.of(events);
    }
}
