package dev.quiver.serving.http.toolcalls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.http.ApiException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A chat request's {@code tools} and {@code tool_choice}, checked, and the parser its answers go through.
 *
 * <p>{@code tool_choice} {@code auto} (the default with tools) parses calls out of the answer.
 * {@code none} renders the tools all the same, as vLLM does, so the prompt does not change with the
 * choice and tool results earlier in the conversation still make sense, but leaves the answer as content.
 * {@code required} and a named function need the answer constrained to a call, which needs constrained
 * decoding; until this server has it, they are refused rather than silently treated as {@code auto}.
 *
 * @param tools  the tools as the chat template receives them, null when the request has none
 * @param parser null when the answer stays content: no tools, {@code none}, or a template of unknown format
 */
public record ToolRequest(List<Map<String, Object>> tools, ToolCallParser parser) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code body}'s tool fields; {@code format} is the model's tool-call format, if it has a known one. */
    public static ToolRequest read(JsonNode body, Optional<ToolCallParser> format) {
        List<Map<String, Object>> tools = tools(body.get("tools"));
        boolean parse = choice(body.get("tool_choice"));
        return new ToolRequest(tools, parse && tools != null && !tools.isEmpty() ? format.orElse(null) : null);
    }

    private static List<Map<String, Object>> tools(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw ApiException.invalid("tools", "tools must be an array of {\"type\": \"function\", \"function\":"
                    + " {\"name\", \"description\", \"parameters\"}} objects");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode tool = node.get(i);
            String where = "tools[" + i + "]";
            if (!tool.isObject() || !"function".equals(tool.path("type").asText("function"))) {
                throw ApiException.invalid(where, where + " must be {\"type\": \"function\", \"function\": {...}};"
                        + " only function tools are supported");
            }
            JsonNode name = tool.path("function").path("name");
            if (!name.isTextual() || name.asText().isBlank()) {
                throw ApiException.invalid(where + ".function.name", where + ".function.name must be a non-empty"
                        + " string: the name the model calls the function by");
            }
            out.add(JSON.convertValue(tool, LinkedHashMap.class));
        }
        return out;
    }

    /** Whether calls are parsed out of the answer. */
    private static boolean choice(JsonNode node) {
        if (node == null || node.isNull()) {
            return true;
        }
        if (node.isTextual()) {
            switch (node.asText()) {
                case "auto":
                    return true;
                case "none":
                    return false;
                case "required":
                    throw unconstrained("\"required\"");
                default:
                    break;
            }
        } else if (node.isObject() && "function".equals(node.path("type").asText())
                && node.path("function").path("name").isTextual()) {
            throw unconstrained("naming function '" + node.path("function").path("name").asText() + "'");
        }
        throw ApiException.invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or"
                + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got " + node);
    }

    private static ApiException unconstrained(String what) {
        return ApiException.invalid("tool_choice", "tool_choice " + what + " forces a call, which needs"
                + " constrained decoding; this server does not have it yet. Use \"auto\" (the default) and"
                + " describe in the prompt which tool to call, or \"none\"");
    }
}
