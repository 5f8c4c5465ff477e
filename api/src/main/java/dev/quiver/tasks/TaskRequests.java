package dev.quiver.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Parses and validates the bodies of task create and update requests; every rejected value is a 400 naming its field. */
@Singleton
public class TaskRequests {
    /** Tool-safe: OpenAI function names and MCP tool names both allow exactly these. */
    public static final String NAME_PATTERN = "[a-zA-Z0-9_-]{1,64}";

    /** {@code POST /v1/tasks}: {@code adapter}, {@code training} or both. */
    public record Create(String name, TaskDefinition definition, @Nullable String adapter,
                         @Nullable Training training, @Nullable TaskFallback fallback) {
    }

    /** The fine-tuning job that a one-step create starts for the task. */
    public record Training(String trainingFile, @Nullable String validationFile, @Nullable Long seed,
                           @Nullable Map<String, Object> hyperparameters) {
    }

    /**
     * {@code PATCH /v1/tasks/{name}}: the whole new definition, the adapter if it changes, and the fallback when
     * {@code fallbackGiven} (null then removes it).
     */
    public record Update(TaskDefinition definition, @Nullable String adapter, boolean fallbackGiven,
                         @Nullable TaskFallback fallback) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> DEFINITION_FIELDS = Set.of("description", "adapter", "prompt_template",
            "system_prompt", "input_schema", "output_schema", "generation", "fallback");
    private static final Set<String> TRAINING_FIELDS = Set.of("training_file", "validation_file", "seed",
            "hyperparameters");
    private static final int MAX_TEMPLATE = 16000;
    private static final int MAX_SYSTEM_PROMPT = 8000;
    private static final int MAX_DESCRIPTION = 4000;
    private static final int MAX_SCHEMA = 16000;
    private static final int MAX_TOKENS = 4096;

    private final JsonSchemas schemas;
    private final PromptTemplates templates;

    public TaskRequests(JsonSchemas schemas, PromptTemplates templates) {
        this.schemas = schemas;
        this.templates = templates;
    }

    /** The request body as a JSON object. */
    public static JsonNode body(String text) {
        try {
            JsonNode node = JSON.readTree(text == null ? "" : text);
            if (node == null || !node.isObject()) {
                throw ApiException.invalid(null, "the request body must be a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    public Create create(JsonNode body) {
        rejectUnknown(body, "name");
        String name = text(body, "name", true);
        if (!name.matches(NAME_PATTERN)) {
            throw ApiException.invalid("name", "name must be a tool-safe name of 1-64 letters, digits, '_' or '-'"
                    + " (agents call the task by it), got '" + name + "'");
        }
        JsonNode generation = generation(body);
        TaskDefinition definition = definition(text(body, "description", true),
                text(body, "system_prompt", false),
                body.hasNonNull("prompt_template") ? text(body, "prompt_template", true)
                        : TaskDefinition.DEFAULT_PROMPT_TEMPLATE,
                required(body, "input_schema"), body.get("output_schema"),
                temperature(generation, TaskDefinition.DEFAULT_TEMPERATURE),
                maxTokens(generation, TaskDefinition.DEFAULT_MAX_TOKENS));
        Training training = null;
        if (body.hasNonNull("training_file")) {
            training = new Training(text(body, "training_file", true), text(body, "validation_file", false),
                    seed(body), hyperparameters(body));
        } else {
            for (String field : TRAINING_FIELDS) {
                if (body.hasNonNull(field)) {
                    throw ApiException.invalid(field, field + " only applies with a training_file");
                }
            }
        }
        String adapter = text(body, "adapter", false);
        if (adapter == null && training == null) {
            throw ApiException.invalid("adapter", "give the adapter the task runs on (name@version, or name to follow"
                    + " its newest version), or a training_file to fine-tune one for it");
        }
        return new Create(name, definition, adapter, training, TaskFallback.parse(body.get("fallback")));
    }

    /** Applies the fields present in {@code body} to {@code current}; absent fields keep their value. */
    public Update update(String name, TaskDefinition current, JsonNode body) {
        rejectUnknown(body, "name");
        if (body.has("name") && !name.equals(body.get("name").asText())) {
            throw ApiException.invalid("name", "a task cannot be renamed; create a new task instead");
        }
        for (String field : TRAINING_FIELDS) {
            if (body.has(field)) {
                throw ApiException.invalid(field, "to fine-tune the task again, create a job with POST"
                        + " /v1/fine_tuning/jobs and \"task\": \"" + name + "\"; it moves to the new adapter when the"
                        + " job succeeds");
            }
        }
        JsonNode generation = generation(body);
        TaskDefinition next = definition(
                body.has("description") ? text(body, "description", true) : current.description(),
                body.has("system_prompt") ? text(body, "system_prompt", false) : current.systemPrompt(),
                body.has("prompt_template") ? text(body, "prompt_template", true) : current.promptTemplate(),
                body.has("input_schema") ? required(body, "input_schema") : current.inputSchema(),
                body.has("output_schema") ? body.get("output_schema") : current.outputSchema(),
                temperature(generation, current.temperature()),
                maxTokens(generation, current.maxTokens()));
        String adapter = body.has("adapter") ? text(body, "adapter", true) : null;
        return new Update(next, adapter, body.has("fallback"), TaskFallback.parse(body.get("fallback")));
    }

    private TaskDefinition definition(String description, String systemPrompt, String template, JsonNode input,
                                      JsonNode output, double temperature, int maxTokens) {
        if (description.isBlank() || description.length() > MAX_DESCRIPTION) {
            throw ApiException.invalid("description", "description must say in 1-" + MAX_DESCRIPTION
                    + " characters what the task does; agents read it to decide when to call the task");
        }
        if (template.isBlank() || template.length() > MAX_TEMPLATE) {
            throw ApiException.invalid("prompt_template", "prompt_template must be a Jinja template of 1-"
                    + MAX_TEMPLATE + " characters, e.g. \"Ticket: {{ ticket }}\"");
        }
        templates.check("prompt_template", template);
        if (systemPrompt != null) {
            if (systemPrompt.length() > MAX_SYSTEM_PROMPT) {
                throw ApiException.invalid("system_prompt", "system_prompt is longer than " + MAX_SYSTEM_PROMPT
                        + " characters");
            }
            templates.check("system_prompt", systemPrompt);
        }
        schemas.requireValid("input_schema", input, true);
        checkSize("input_schema", input);
        if (output != null && output.isNull()) {
            output = null;
        }
        if (output != null) {
            schemas.requireValid("output_schema", output, false);
            OutputConstraint.check("output_schema", output);
            checkSize("output_schema", output);
        }
        return new TaskDefinition(description, systemPrompt, template, input, output, temperature, maxTokens);
    }

    private static void rejectUnknown(JsonNode body, String... also) {
        Set<String> known = new java.util.HashSet<>(DEFINITION_FIELDS);
        known.addAll(TRAINING_FIELDS);
        known.addAll(Set.of(also));
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!known.contains(field)) {
                throw ApiException.invalid(field, "unknown field '" + field + "'; a task has " + new java.util.TreeSet<>(
                        known));
            }
        }
    }

    private static void checkSize(String field, JsonNode schema) {
        if (schema.toString().length() > MAX_SCHEMA) {
            throw ApiException.invalid(field, field + " is longer than " + MAX_SCHEMA + " characters as JSON");
        }
    }

    private static JsonNode required(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.invalid(field, field + " is required: a JSON Schema of the task's input object");
        }
        return v;
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

    private static JsonNode generation(JsonNode body) {
        JsonNode g = body.path("generation");
        if (g.isMissingNode() || g.isNull()) {
            return g;
        }
        if (!g.isObject()) {
            throw ApiException.invalid("generation", "generation must be an object: {\"temperature\": 0,"
                    + " \"max_tokens\": 256}");
        }
        for (Iterator<String> it = g.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!field.equals("temperature") && !field.equals("max_tokens")) {
                throw ApiException.invalid("generation." + field, "unknown field 'generation." + field
                        + "'; generation has temperature and max_tokens");
            }
        }
        return g;
    }

    private static double temperature(JsonNode generation, double fallback) {
        JsonNode v = generation.get("temperature");
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.asDouble() < 0 || v.asDouble() > 2) {
            throw ApiException.invalid("generation.temperature", "generation.temperature must be a number between 0"
                    + " and 2, got " + v);
        }
        return v.asDouble();
    }

    private static int maxTokens(JsonNode generation, int fallback) {
        JsonNode v = generation.get("max_tokens");
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > MAX_TOKENS) {
            throw ApiException.invalid("generation.max_tokens", "generation.max_tokens must be an integer between 1"
                    + " and " + MAX_TOKENS + ", got " + v);
        }
        return v.asInt();
    }

    private static Long seed(JsonNode body) {
        JsonNode v = body.get("seed");
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw ApiException.invalid("seed", "seed must be an integer");
        }
        return v.asLong();
    }

    private static Map<String, Object> hyperparameters(JsonNode body) {
        JsonNode v = body.get("hyperparameters");
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw ApiException.invalid("hyperparameters", "hyperparameters must be an object, e.g. {\"n_epochs\": 3}");
        }
        return JSON.convertValue(v, new TypeReference<LinkedHashMap<String, Object>>() {
        });
    }
}
