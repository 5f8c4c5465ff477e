package dev.quiver.serving.http.toolcalls;

import dev.quiver.http.ObjectIds;

/**
 * One function call parsed out of a model's answer, as OpenAI's {@code tool_calls} entries carry it.
 *
 * @param id        {@code call_} and 24 random hex digits, so a client can match the tool result to the call
 * @param arguments the arguments as a JSON string (OpenAI's {@code function.arguments})
 */
public record ToolCall(String id, String name, String arguments) {

    /** A call with a fresh id. */
    public static ToolCall of(String name, String arguments) {
        return new ToolCall(ObjectIds.next("call_", 12), name, arguments);
    }
}
