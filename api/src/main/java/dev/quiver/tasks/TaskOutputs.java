package dev.quiver.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.TextNode;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Optional;

/**
 * Reads a model's answer as a task's output, for {@code invoke}, captured calls and evals alike: JSON if it parses
 * (inside a Markdown code fence too), else the text as a JSON string, whichever the output schema accepts; without
 * an output schema, the text.
 */
@Singleton
public class TaskOutputs {
    private static final ObjectReader STRICT = new ObjectMapper().reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final JsonSchemas schemas;

    public TaskOutputs(JsonSchemas schemas) {
        this.schemas = schemas;
    }

    /**
     * What an answer reads as: its output, or (none valid) the violations of its first reading, the JSON value
     * when the text parses, else the text as a string.
     */
    public record Reading(Optional<JsonNode> output, List<JsonSchemas.Violation> violations) {
    }

    /** The output {@code raw} stands for, if it is valid under {@code schema} (null: any text is). */
    public Optional<JsonNode> read(@Nullable JsonNode schema, String raw) {
        return reading(schema, raw).output();
    }

    /** {@code raw} read under {@code schema} (null: any text is), with what is wrong when it is not an output. */
    public Reading reading(@Nullable JsonNode schema, String raw) {
        String text = unfence(raw.strip());
        TextNode asText = TextNode.valueOf(text);
        if (schema == null) {
            return new Reading(Optional.of(asText), List.of());
        }
        List<JsonSchemas.Violation> first = null;
        try {
            JsonNode json = STRICT.readTree(text);
            if (json != null) {
                first = schemas.validate(schema, json, "output");
                if (first.isEmpty()) {
                    return new Reading(Optional.of(json), List.of());
                }
            }
        } catch (JsonProcessingException e) {
            // not JSON: the text itself may still be a valid string output
        }
        List<JsonSchemas.Violation> violations = schemas.validate(schema, asText, "output");
        if (violations.isEmpty()) {
            return new Reading(Optional.of(asText), List.of());
        }
        return new Reading(Optional.empty(), first != null ? first : violations);
    }

    private static String unfence(String text) {
        if (!text.startsWith("```") || !text.endsWith("```") || text.length() < 6) {
            return text;
        }
        int firstLine = text.indexOf('\n');
        return firstLine < 0 ? text : text.substring(firstLine + 1, text.length() - 3).strip();
    }
}
