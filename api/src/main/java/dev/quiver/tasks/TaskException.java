package dev.quiver.tasks;

import dev.quiver.http.ApiException;
import io.micronaut.http.HttpStatus;
import java.util.Map;

/**
 * A task failure that carries more than OpenAI's error object has room for: the model's raw answer and
 * the schema violations when it does not match the output schema, or the training job a task waits for.
 * The extra entries sit beside {@code message}, {@code type}, {@code param} and {@code code}.
 */
public class TaskException extends ApiException {
    private final transient Map<String, Object> details;

    public TaskException(HttpStatus status, String type, String message, String param, String code,
                         Map<String, Object> details) {
        super(status, type, message, param, code);
        this.details = Map.copyOf(details);
    }

    public Map<String, Object> details() {
        return details;
    }
}
