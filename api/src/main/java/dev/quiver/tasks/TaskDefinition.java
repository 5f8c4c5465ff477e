package dev.quiver.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.core.annotation.Nullable;

/**
 * What a task is, as validated: the description agents read, the Jinja templates that turn an input into
 * chat messages, the input and output JSON Schemas, and the generation defaults.
 */
public record TaskDefinition(String description, @Nullable String systemPrompt, String promptTemplate,
                             JsonNode inputSchema, @Nullable JsonNode outputSchema, double temperature,
                             int maxTokens) {
    static final double DEFAULT_TEMPERATURE = 0.0;
    static final int DEFAULT_MAX_TOKENS = 256;
    /** Used when a task gives no template: the input object as JSON is the user message. */
    static final String DEFAULT_PROMPT_TEMPLATE = "{{ input | tojson }}";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The definition stored on {@code task}. */
    public static TaskDefinition of(Task task) {
        return new TaskDefinition(task.getDescription(), task.getSystemPrompt(), task.getPromptTemplate(),
                parse(task.getInputSchema()), task.getOutputSchema() == null ? null : parse(task.getOutputSchema()),
                task.getTemperature(), task.getMaxTokens());
    }

    /** Whether the output schema describes a JSON object (MCP structured content must be one). */
    boolean outputIsObject() {
        return outputSchema != null && "object".equals(outputSchema.path("type").asText());
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored task schema is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
