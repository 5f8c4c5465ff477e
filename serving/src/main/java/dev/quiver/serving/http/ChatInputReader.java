package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.tokenizer.ChatInput;
import dev.quiver.http.ApiException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the chat-template fields of a chat request under vLLM's names: {@code chat_template_kwargs}
 * (extra template variables such as {@code enable_thinking}), {@code add_generation_prompt},
 * {@code continue_final_message} and {@code documents}.
 */
final class ChatInputReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChatInputReader() {
    }

    static ChatInput read(JsonNode body, List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        boolean continueFinal = bool(body, "continue_final_message", false);
        // continuing the last message implies not opening a new turn, so only an explicit true clashes
        boolean generationPrompt = bool(body, "add_generation_prompt", !continueFinal);
        if (continueFinal && generationPrompt) {
            throw ApiException.invalid("continue_final_message", "continue_final_message and add_generation_prompt"
                    + " cannot both be true: one continues the last message, the other opens a new assistant turn;"
                    + " drop add_generation_prompt");
        }
        return new ChatInput(messages, tools, documents(body.get("documents")), generationPrompt, continueFinal,
                kwargs(body.get("chat_template_kwargs")));
    }

    private static Map<String, Object> kwargs(JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw ApiException.invalid("chat_template_kwargs", "chat_template_kwargs must be an object of template"
                    + " variables, e.g. {\"enable_thinking\": false}; got " + node.getNodeType());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> out.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class)));
        return out;
    }

    private static List<Map<String, Object>> documents(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw ApiException.invalid("documents", "documents must be an array of objects, e.g. [{\"title\": ...,"
                    + " \"text\": ...}]");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            if (!node.get(i).isObject()) {
                throw ApiException.invalid("documents[" + i + "]", "documents[" + i + "] must be an object, e.g."
                        + " {\"title\": ..., \"text\": ...}; got " + node.get(i).getNodeType());
            }
            out.add(JSON.convertValue(node.get(i), LinkedHashMap.class));
        }
        return out;
    }

    private static boolean bool(JsonNode body, String field, boolean fallback) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(field, field + " must be a boolean, got " + v);
        }
        return v.asBoolean();
    }
}
