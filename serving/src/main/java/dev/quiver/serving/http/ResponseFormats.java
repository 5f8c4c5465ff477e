package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.http.ApiException;
import dev.quiver.serving.constraint.ConstraintException;
import dev.quiver.serving.constraint.Constraints;
import dev.quiver.serving.constraint.TokenConstraint;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads what a request's output must be: OpenAI's {@code response_format} ({@code text}, {@code json_object},
 * {@code json_schema}) or vLLM's {@code guided_choice}, {@code guided_regex} and {@code guided_json}; each a 400
 * naming the field (and for a schema, the keyword and its path) when it cannot be decoded under.
 */
final class ResponseFormats {
    private static final List<String> GUIDED = List.of("guided_choice", "guided_regex", "guided_json");

    private ResponseFormats() {
    }

    /** The constraint {@code body} asks for, or null for free text. */
    static TokenConstraint constraint(JsonNode body, Constraints constraints) {
        List<String> asked = new ArrayList<>();
        JsonNode format = body.get("response_format");
        String type = format == null || format.isNull() ? "text" : format.path("type").asText("");
        if (!type.equals("text")) {
            asked.add("response_format");
        }
        GUIDED.stream().filter(body::hasNonNull).forEach(asked::add);
        if (asked.size() > 1) {
            throw ApiException.invalid(asked.get(1), "give one output constraint, not " + String.join(" and ", asked));
        }
        try {
            if (body.hasNonNull("guided_choice")) {
                return constraints.choice(choices(body.get("guided_choice")), "guided_choice");
            }
            if (body.hasNonNull("guided_regex")) {
                if (!body.get("guided_regex").isTextual()) {
                    throw ApiException.invalid("guided_regex", "guided_regex must be a string");
                }
                return constraints.regex(body.get("guided_regex").asText(), "guided_regex");
            }
            if (body.hasNonNull("guided_json")) {
                return constraints.schema(body.get("guided_json"), "guided_json");
            }
            return switch (type) {
                case "text" -> null;
                case "json_object" -> constraints.jsonObject();
                case "json_schema" -> {
                    JsonNode spec = format.get("json_schema");
                    if (spec == null || !spec.isObject() || !spec.path("schema").isObject()) {
                        throw ApiException.invalid("response_format.json_schema", "response_format.json_schema"
                                + " must be {\"name\": ..., \"schema\": {...}, \"strict\": true}");
                    }
                    yield constraints.schema(spec.get("schema"), "response_format.json_schema.schema");
                }
                default -> throw ApiException.invalid("response_format.type", "response_format.type must be text,"
                        + " json_object or json_schema, got " + format.get("type"));
            };
        } catch (ConstraintException e) {
            throw ApiException.invalid(e.path(), e.getMessage());
        }
    }

    private static List<String> choices(JsonNode list) {
        if (!list.isArray() || list.isEmpty()) {
            throw ApiException.invalid("guided_choice", "guided_choice must be a non-empty array of strings");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!list.get(i).isTextual()) {
                throw ApiException.invalid("guided_choice[" + i + "]", "guided_choice[" + i + "] must be a string");
            }
            out.add(list.get(i).asText());
        }
        return out;
    }
}
