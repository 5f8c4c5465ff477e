package dev.quiver.serving.http.toolcalls;

/** What a {@link ToolCallStream} releases: answer text for {@code content}, or a complete call. */
public sealed interface ToolCallEvent {

    /** Text outside any call, safe to send as content. */
    record Content(String text) implements ToolCallEvent {
    }

    /** A call, complete and well-formed. */
    record Call(ToolCall call) implements ToolCallEvent {
    }
}
