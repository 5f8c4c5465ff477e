package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Set;

/**
 * When a task escalates a call to its upstream: its own model's answer fails the output schema
 * ({@code on_schema_failure}) or the answer's mean token logprob is below {@code min_mean_logprob}.
 */
public record TaskFallback(boolean onSchemaFailure, @Nullable Double minMeanLogprob) {
    /** Why a call was escalated, as captures, invoke answers and metrics name it. */
    public static final String SCHEMA_FAILURE = "schema_failure";
    public static final String LOW_LOGPROB = "low_logprob";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("on_schema_failure", "min_mean_logprob");

    /** Parses {@code fallback} of a task request; null for JSON null (no fallback); every bad field a 400 naming it. */
    static TaskFallback parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw ApiException.invalid("fallback", "fallback must be an object: {\"on_schema_failure\": true,"
                    + " \"min_mean_logprob\": -1.0}, or null for none");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!FIELDS.contains(field)) {
                throw ApiException.invalid("fallback." + field, "unknown field 'fallback." + field + "'; fallback has "
                        + new java.util.TreeSet<>(FIELDS));
            }
        }
        JsonNode schema = node.path("on_schema_failure");
        if (!schema.isMissingNode() && !schema.isNull() && !schema.isBoolean()) {
            throw ApiException.invalid("fallback.on_schema_failure", "fallback.on_schema_failure must be true or false");
        }
        JsonNode min = node.path("min_mean_logprob");
        Double threshold = null;
        if (!min.isMissingNode() && !min.isNull()) {
            if (!min.isNumber() || min.asDouble() > 0) {
                throw ApiException.invalid("fallback.min_mean_logprob", "fallback.min_mean_logprob must be a number"
                        + " at most 0 (a token's logprob is never above 0; -1.0 escalates answers whose tokens average"
                        + " below e^-1 = 37% probability), got " + min);
            }
            threshold = min.asDouble();
        }
        TaskFallback fallback = new TaskFallback(schema.asBoolean(false), threshold);
        if (!fallback.onSchemaFailure() && threshold == null) {
            throw ApiException.invalid("fallback", "fallback escalates on nothing: set on_schema_failure to true,"
                    + " min_mean_logprob to a threshold, or fallback to null");
        }
        return fallback;
    }

    /** The task's fallback, or null when it has none. */
    static TaskFallback of(Task task) {
        if (task.getFallback() == null) {
            return null;
        }
        try {
            return parse(JSON.readTree(task.getFallback()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As the task stores and shows it. */
    ObjectNode json() {
        ObjectNode node = JSON.createObjectNode();
        node.put("on_schema_failure", onSchemaFailure);
        if (minMeanLogprob == null) {
            node.putNull("min_mean_logprob");
        } else {
            node.put("min_mean_logprob", minMeanLogprob);
        }
        return node;
    }
}
