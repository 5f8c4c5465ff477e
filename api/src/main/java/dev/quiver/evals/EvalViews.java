package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** The JSON shapes of {@code /v1/evals}. */
public final class EvalViews {
    private static final Set<String> FIELDS = Set.of("task", "model", "file");

    private EvalViews() {
    }

    /** {@code POST /v1/evals}: which task's held-out {@code file} to run {@code model} over. */
    public record Create(String task, String model, String file) {

        public static Create parse(JsonNode body) {
            for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!FIELDS.contains(field)) {
                    throw ApiException.invalid(field, "unknown field '" + field + "'; an eval has " + FIELDS);
                }
            }
            return new Create(text(body, "task", "the task whose output the answers are scored as"),
                    text(body, "model", "the base model, an adapter (name or name@version) or \"upstream\""),
                    text(body, "file", "the held-out file: chat examples ending in the reference answer"));
        }

        private static String text(JsonNode body, String field, String what) {
            JsonNode v = body.get(field);
            if (v == null || !v.isTextual() || v.asText().isBlank()) {
                throw ApiException.invalid(field, field + " is required: " + what);
            }
            return v.asText();
        }
    }

    /** An eval as the API shows it; {@code metrics} once it succeeded. */
    @Serdeable
    public record EvalView(String id, String object, String task, String model, String file, @Nullable String job,
                           String status, int examples, @Nullable Map<String, Object> metrics, @Nullable String error,
                           long createdAt, @Nullable Long finishedAt) {
    }

    /** One line of an eval's log. */
    @Serdeable
    public record EventView(long id, String object, long createdAt, String level, String message) {
    }
}
