package dev.quiver.serving.http.toolcalls;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;

/**
 * Reads one {@code {"name": ..., "arguments" | "parameters": {...}}} object, the shape both supported
 * families use (Hermes/Qwen say {@code arguments}, Llama 3 says {@code parameters}; models mix them up).
 */
final class CallJson {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private CallJson() {
    }

    /** The call {@code text} spells, or empty when it is not one: malformed calls stay text, never an error. */
    static Optional<ToolCall> parse(String text) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
        return call(node);
    }

    /** The call {@code node} describes, or empty when it is not an object with a string name. */
    static Optional<ToolCall> call(JsonNode node) {
        if (node == null || !node.isObject() || !node.path("name").isTextual()) {
            return Optional.empty();
        }
        JsonNode args = node.has("arguments") ? node.get("arguments") : node.get("parameters");
        if (args == null || args.isNull()) {
            return Optional.of(ToolCall.of(node.get("name").asText(), "{}"));
        }
        if (args.isTextual()) {
            // some fine-tunes emit the arguments already encoded as a JSON string, as OpenAI returns them
            return Optional.of(ToolCall.of(node.get("name").asText(), args.asText()));
        }
        if (!args.isObject()) {
            return Optional.empty();
        }
        return Optional.of(ToolCall.of(node.get("name").asText(), args.toString()));
    }
}
