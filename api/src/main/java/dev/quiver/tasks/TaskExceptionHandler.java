package dev.quiver.tasks;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;

/** Renders {@link TaskException} as OpenAI's error object with its extra entries; a 503 says when to retry. */
@Produces
@Singleton
public class TaskExceptionHandler implements ExceptionHandler<TaskException, HttpResponse<Map<String, Object>>> {
    @Override
    public HttpResponse<Map<String, Object>> handle(HttpRequest request, TaskException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        error.putAll(e.details());
        MutableHttpResponse<Map<String, Object>> response = HttpResponse.<Map<String, Object>>status(e.status())
                .body(Map.of("error", error));
        if (e.status() == HttpStatus.SERVICE_UNAVAILABLE) {
            response.header("Retry-After", "5");
        }
        return response;
    }
}
