package dev.quiver.serving.http;

import dev.quiver.adapters.model.GenerationDefaults;
import dev.quiver.adapters.tokenizer.ChatInput;
import dev.quiver.http.ApiException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.http.toolcalls.ToolCallParser;
import dev.quiver.serving.constraint.ConstraintException;
import dev.quiver.serving.constraint.TokenConstraint;
import dev.quiver.serving.http.toolcalls.CallFrame;
import dev.quiver.serving.http.toolcalls.ToolRequest;
import dev.quiver.serving.runtime.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns OpenAI chat and text completion bodies into {@link GenerationPlan}s. Every rejected value is a
 * 400 naming its field, as OpenAI's API does.
 */
final class RequestParser {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    private static final int MAX_N = 16;

    private final ServingEngine serving;

    RequestParser(ServingEngine serving) {
        this.serving = serving;
    }

    static ObjectNode body(String text) {
        try {
            JsonNode node = JSON.readTree(text == null ? "" : text);
            if (node == null || !node.isObject()) {
                throw ApiException.invalid(null, "the request body must be a JSON object");
            }
            return (ObjectNode) node;
        } catch (JsonProcessingException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    GenerationPlan chat(JsonNode body, String project) {
        String model = text(body, "model", true);
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array of {role, content}");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            list.add(message(messages.get(i), "messages[" + i + "]"));
        }
        ToolRequest tools = ToolRequest.read(body, serving.toolCalls());
        ChatInput input = ChatInputReader.read(body, list, tools.tools());
        AdapterSource.Entry adapter = serving.find(model, project);
        String prompt;
        try {
            prompt = serving.template().render(input);
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "the chat template rejected these messages: " + e.getMessage());
        }
        int[] tokens = serving.tokenizer().encode(prompt);
        boolean logprobs = bool(body, "logprobs", false);
        int top = logprobs ? integer(body, "top_logprobs", 0, 0, SamplingParams.MAX_TOP_LOGPROBS) : -1;
        if (!logprobs && body.hasNonNull("top_logprobs")) {
            throw ApiException.invalid("top_logprobs", "top_logprobs requires logprobs: true");
        }
        Integer maxTokens = null;
        if (body.hasNonNull("max_completion_tokens")) {
            maxTokens = integer(body, "max_completion_tokens", 0, 1, Integer.MAX_VALUE);
        } else if (body.hasNonNull("max_tokens")) {
            maxTokens = integer(body, "max_tokens", 0, 1, Integer.MAX_VALUE);
        }
        return plan(body, model, adapter, tokens, "", maxTokens, top, tools.parser(), forcedCall(tools));
    }

    /** The constraint of a call that {@code tool_choice} forces, or null. */
    private TokenConstraint forcedCall(ToolRequest tools) {
        if (tools.forced() == null) {
            return null;
        }
        CallFrame frame = tools.parser().frame();
        try {
            return serving.engine().constraints().framed(frame.prefix(), tools.forced(), frame.suffix(), "tools");
        } catch (ConstraintException e) {
            throw ApiException.invalid("tools", "tool_choice forces a call, so the tools' parameters must be schemas"
                    + " this server can decode under: " + e.getMessage());
        }
    }

    GenerationPlan completion(JsonNode body, String project) {
        String model = text(body, "model", true);
        if (body.hasNonNull("suffix")) {
            throw ApiException.invalid("suffix", "suffix (fill-in-the-middle) is not supported");
        }
        JsonNode p = body.get("prompt");
        int[] tokens;
        String promptText;
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "prompt is required: a string or an array of token ids");
        } else if (p.isTextual()) {
            promptText = p.asText();
            tokens = serving.tokenizer().encode(promptText);
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            promptText = p.get(0).asText();
            tokens = serving.tokenizer().encode(promptText);
        } else if (p.isArray() && p.size() > 0 && p.get(0).isIntegralNumber()) {
            tokens = new int[p.size()];
            int vocab = serving.tokenizer().vocabSize();
            for (int i = 0; i < tokens.length; i++) {
                if (!p.get(i).isIntegralNumber() || p.get(i).asInt() < 0 || p.get(i).asInt() >= vocab) {
                    throw ApiException.invalid("prompt", "prompt[" + i + "] must be a token id in [0, " + vocab
                            + ")");
                }
                tokens[i] = p.get(i).asInt();
            }
            promptText = serving.tokenizer().decode(tokens);
        } else {
            throw ApiException.invalid("prompt", "prompt must be a string or an array of token ids (batches of"
                    + " prompts: send one request each)");
        }
        AdapterSource.Entry adapter = serving.find(model, project);
        int top = body.hasNonNull("logprobs") ? integer(body, "logprobs", 0, 0, SamplingParams.MAX_TOP_LOGPROBS) : -1;
        Integer maxTokens = body.hasNonNull("max_tokens") ? integer(body, "max_tokens", 16, 1, Integer.MAX_VALUE) : 16;
        String echo = bool(body, "echo", false) ? promptText : "";
        return plan(body, model, adapter, tokens, echo, maxTokens, top, null, null);
    }

    private GenerationPlan plan(JsonNode body, String model, AdapterSource.Entry adapter, int[] tokens, String echo,
                                Integer maxTokens, int topLogprobs, ToolCallParser toolCalls,
                                TokenConstraint forcedCall) {
        if (tokens.length == 0) {
            throw ApiException.invalid("prompt", "the prompt is empty");
        }
        int room = serving.maxSequenceLength() - tokens.length;
        if (room < 1) {
            throw ApiException.invalid("messages", "the prompt has " + tokens.length + " tokens; this server's"
                    + " context is " + serving.maxSequenceLength() + " tokens. Shorten the prompt.");
        }
        String asked = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens"
                : body.hasNonNull("max_tokens") ? "max_tokens" : null;
        if (asked != null && maxTokens > room) {
            // as OpenAI and vLLM do: a silently shorter answer would look like the model's own choice to stop
            throw ApiException.invalid(asked, asked + " is " + maxTokens + " but the prompt has " + tokens.length
                    + " tokens and this server's context is " + serving.maxSequenceLength() + " tokens, which leaves"
                    + " room for " + room + "; set " + asked + " to at most " + room + " (or leave it out to fill"
                    + " the room)");
        }
        int max = maxTokens == null ? room : Math.min(maxTokens, room);
        for (String unsupported : List.of("presence_penalty", "frequency_penalty")) {
            if (body.hasNonNull(unsupported) && body.get(unsupported).asDouble() != 0) {
                throw ApiException.invalid(unsupported, unsupported + " is not supported; leave it at 0");
            }
        }
        // unset sampling fields take the model's generation_config.json values, as vLLM's --generation-config auto
        GenerationDefaults defaults = serving.defaults();
        SamplingParams params;
        try {
            SamplingParams.Builder b = SamplingParams.builder()
                    .optTemperature(number(body, "temperature", defaults.temperatureOr(1.0), 0, 2))
                    .optTopP(number(body, "top_p", defaults.topPOr(1.0), Double.MIN_VALUE, 1))
                    .optTopK(integer(body, "top_k", defaults.topKOr(0), 0, Integer.MAX_VALUE))
                    .optMaxTokens(max)
                    .optStop(stops(body))
                    .optLogprobs(topLogprobs >= 0)
                    .optTopLogprobs(Math.max(0, topLogprobs));
            if (body.hasNonNull("seed")) {
                if (!body.get("seed").isIntegralNumber()) {
                    throw ApiException.invalid("seed", "seed must be an integer");
                }
                b.optSeed(body.get("seed").asLong());
            }
            params = b.build();
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(null, e.getMessage());
        }
        int n = integer(body, "n", 1, 1, MAX_N);
        boolean stream = bool(body, "stream", false);
        boolean usage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
        TokenConstraint constraint = ResponseFormats.constraint(body, serving.engine().constraints());
        if (forcedCall != null) {
            if (constraint != null) {
                throw ApiException.invalid("tool_choice", "tool_choice forces a tool call, which cannot be combined"
                        + " with response_format or guided_* output constraints");
            }
            constraint = forcedCall;
        }
        return new GenerationPlan(model, adapter, tokens, echo, n, params, stream, usage, topLogprobs, toolCalls,
                constraint);
    }

    private static Map<String, Object> message(JsonNode m, String where) {
        if (!m.isObject()) {
            throw ApiException.invalid(where, where + " must be an object with role and content");
        }
        String role = m.path("role").asText(null);
        if (role == null || !ROLES.contains(role)) {
            throw ApiException.invalid(where + ".role", where + ".role must be one of " + ROLES + ", got "
                    + m.get("role"));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("role", role.equals("developer") ? "system" : role);
        JsonNode content = m.get("content");
        if (content == null || content.isNull()) {
            if (!role.equals("assistant") || !m.hasNonNull("tool_calls")) {
                throw ApiException.invalid(where + ".content", where + ".content is required");
            }
            out.put("content", "");
        } else if (content.isTextual()) {
            out.put("content", content.asText());
        } else if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText())) {
                    throw ApiException.invalid(where + ".content", "only text content parts are supported, got "
                            + part.path("type"));
                }
                text.append(part.path("text").asText());
            }
            out.put("content", text.toString());
        } else {
            throw ApiException.invalid(where + ".content", where + ".content must be a string or text parts");
        }
        for (String key : List.of("name", "tool_call_id", "tool_calls")) {
            if (m.hasNonNull(key)) {
                out.put(key, JSON.convertValue(m.get(key), Object.class));
            }
        }
        return out;
    }

    private static List<String> stops(JsonNode body) {
        JsonNode s = body.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isTextual()) {
            return List.of(s.asText());
        }
        if (s.isArray() && s.size() <= 4) {
            List<String> out = new ArrayList<>();
            s.forEach(x -> out.add(x.asText()));
            return out;
        }
        throw ApiException.invalid("stop", "stop must be a string or an array of up to 4 strings");
    }

    private static String text(JsonNode body, String field, boolean required) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw ApiException.invalid(field, field + " is required");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(field, field + " must be a string");
        }
        return v.asText();
    }

    private static boolean bool(JsonNode body, String field, boolean fallback) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(field, field + " must be a boolean");
        }
        return v.asBoolean();
    }

    private static int integer(JsonNode body, String field, int fallback, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
            throw ApiException.invalid(field, field + " must be an integer between " + min + " and " + max
                    + ", got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode body, String field, double fallback, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw ApiException.invalid(field, field + " must be a number between " + (min == Double.MIN_VALUE ? 0
                    : min) + " and " + max + ", got " + v);
        }
        return v.asDouble();
    }
}
