package dev.quiver.serving.http.toolcalls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * {@code required} and a named function decode the answer under a constraint: one call, in the family's
 * format, to one of the tools (or the named one), whose arguments match that tool's {@code parameters}.
 *
 * @param tools  the tools as the chat template receives them, null when the request has none
 * @param parser null when the answer stays content: no tools, {@code none}, or a template of unknown format
 * @param forced the JSON Schema the call must match, framed by {@code parser.frame()}; null unless
 *               {@code tool_choice} forces a call
 */
public record ToolRequest(List<Map<String, Object>> tools, ToolCallParser parser, JsonNode forced) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code body}'s tool fields; {@code format} is the model's tool-call format, if it has a known one. */
    public static ToolRequest read(JsonNode body, Optional<ToolCallParser> format) {
        List<Map<String, Object>> tools = tools(body.get("tools"));
        JsonNode choice = body.get("tool_choice");
        boolean parse = choice(choice);
        ToolCallParser parser = parse && tools != null && !tools.isEmpty() ? format.orElse(null) : null;
        List<Map<String, Object>> callable = forcedTools(choice, tools);
        if (callable == null) {
            return new ToolRequest(tools, parser, null);
        }
        if (parser == null) {
            throw ApiException.invalid("tool_choice", "tool_choice " + choice + " forces a call, but this model's"
                    + " chat template has no tool-call format this server knows (Qwen/Hermes <tool_call> or Llama 3"
                    + " JSON); use \"auto\" or \"none\"");
        }
        return new ToolRequest(tools, parser, callSchema(callable, parser.frame().argumentsKey()));
    }

    /** The tools a forced call may name, or null when {@code tool_choice} forces none. */
    private static List<Map<String, Object>> forcedTools(JsonNode choice, List<Map<String, Object>> tools) {
        boolean required = choice != null && choice.isTextual() && choice.asText().equals("required");
        boolean named = choice != null && choice.isObject();
        if (!required && !named) {
            return null;
        }
        if (tools == null || tools.isEmpty()) {
            throw ApiException.invalid("tool_choice", "tool_choice " + choice + " forces a call, but the request"
                    + " has no tools");
        }
        if (required) {
            return tools;
        }
        String name = choice.path("function").path("name").asText();
        List<Map<String, Object>> chosen = tools.stream().filter(t -> name.equals(functionOf(t).get("name"))).toList();
        if (chosen.isEmpty()) {
            throw ApiException.invalid("tool_choice.function.name", "tool_choice names function '" + name
                    + "', which is not among the request's tools");
        }
        return chosen;
    }

    /** {@code {"name": <one of the tools>, <argumentsKey>: <that tool's parameters>}}, as JSON Schema. */
    private static JsonNode callSchema(List<Map<String, Object>> tools, String argumentsKey) {
        ObjectNode schema = JSON.createObjectNode();
        ArrayNode branches = schema.putArray("anyOf");
        for (Map<String, Object> tool : tools) {
            Map<String, Object> function = functionOf(tool);
            ObjectNode call = branches.addObject().put("type", "object");
            ObjectNode properties = call.putObject("properties");
            properties.putObject("name").put("const", String.valueOf(function.get("name")));
            Object parameters = function.get("parameters");
            properties.set(argumentsKey, parameters == null ? JSON.createObjectNode().put("type", "object")
                    : JSON.valueToTree(parameters));
            call.putArray("required").add("name").add(argumentsKey);
            call.put("additionalProperties", false);
        }
        return branches.size() == 1 ? branches.get(0) : schema;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> functionOf(Map<String, Object> tool) {
        Object function = tool.get("function");
        return function instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
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

    /** Whether calls are parsed out of the answer (every valid choice but {@code none}). */
    private static boolean choice(JsonNode node) {
        if (node == null || node.isNull()) {
            return true;
        }
        if (node.isTextual()) {
            switch (node.asText()) {
                case "auto", "required":
                    return true;
                case "none":
                    return false;
                default:
                    break;
            }
        } else if (node.isObject() && "function".equals(node.path("type").asText())
                && node.path("function").path("name").isTextual()) {
            return true;
        }
        throw ApiException.invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or"
                + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got " + node);
    }
}
