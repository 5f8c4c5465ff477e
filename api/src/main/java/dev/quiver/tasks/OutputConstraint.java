package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.serving.constraint.ConstraintException;
import dev.quiver.serving.constraint.Constraints;

/**
 * How a task's output schema becomes a decoding constraint: a string enum as a choice of its values (the
 * answer is then the bare value), anything else as {@code response_format: json_schema}; and the check at task
 * creation that serving will be able to decode under it.
 */
final class OutputConstraint {
    private OutputConstraint() {
    }

    /** A 400 naming the keyword and its path when {@code schema} cannot be decoded under. */
    static void check(String field, JsonNode schema) {
        try {
            Constraints.check(schema, field);
        } catch (ConstraintException e) {
            throw ApiException.invalid(e.path(), e.getMessage());
        }
    }

    /** Adds to chat completion {@code body} the constraint that makes every answer match {@code schema}. */
    static void apply(ObjectNode body, String task, JsonNode schema) {
        if (isStringEnum(schema)) {
            body.set("guided_choice", schema.get("enum"));
            return;
        }
        ObjectNode format = body.putObject("response_format");
        format.put("type", "json_schema");
        format.putObject("json_schema").put("name", task).put("strict", true).set("schema", schema);
    }

    private static boolean isStringEnum(JsonNode schema) {
        JsonNode values = schema.get("enum");
        if (values == null || !values.isArray() || values.isEmpty()) {
            return false;
        }
        for (JsonNode v : values) {
            if (!v.isTextual() || v.asText().isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
