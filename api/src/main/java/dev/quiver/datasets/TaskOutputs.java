package dev.quiver.datasets;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.quiver.tasks.JsonSchemas;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.Optional;

/**
 * Reads a model's answer as a task's output, the way {@code invoke} does: JSON if it parses (inside a
 * Markdown code fence too), else the text as a JSON string, whichever the output schema accepts; without an
 * output schema, the text.
 */
@Singleton
public class TaskOutputs {
    private static final ObjectReader STRICT = new ObjectMapper().reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final JsonSchemas schemas;

    public TaskOutputs(JsonSchemas schemas) {
        this.schemas = schemas;
    }

    /** The output {@code raw} stands for, if it is valid under {@code schema} (null: any text is). */
    public Optional<JsonNode> read(@Nullable JsonNode schema, String raw) {
        String text = unfence(raw.strip());
        if (schema == null) {
            return Optional.of(TextNode.valueOf(text));
        }
        try {
            JsonNode json = STRICT.readTree(text);
            if (json != null && schemas.validate(schema, json, "output").isEmpty()) {
                return Optional.of(json);
            }
        } catch (JsonProcessingException e) {
            // not JSON: the text itself may still be a valid string output
        }
        TextNode asText = TextNode.valueOf(text);
        return schemas.validate(schema, asText, "output").isEmpty() ? Optional.of(asText) : Optional.empty();
    }

    private static String unfence(String text) {
        if (!text.startsWith("```") || !text.endsWith("```") || text.length() < 6) {
            return text;
        }
        int firstLine = text.indexOf('\n');
        return firstLine < 0 ? text : text.substring(firstLine + 1, text.length() - 3).strip();
    }
}
