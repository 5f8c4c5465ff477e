package dev.quiver.http;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.context.annotation.Primary;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;

/**
 * Makes the framework's own errors (unknown route, malformed JSON, failed validation, uncaught
 * exceptions) use OpenAI's error object too, and never leak a stack trace.
 */
@Singleton
@Primary
@Replaces(ErrorResponseProcessor.class)
public class OpenAiErrorResponseProcessor implements ErrorResponseProcessor<ErrorBody> {
    @Override
    public MutableHttpResponse<ErrorBody> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
        HttpStatus status = response.getStatus();
        String message = context.getErrors().isEmpty() ? status.getReason()
                : context.getErrors().get(0).getMessage();
        String type = status.getCode() >= 500 ? "server_error" : "invalid_request_error";
        if (status.getCode() >= 500) {
            message = "The server had an error while processing your request.";
        }
        String param = context.getErrors().isEmpty() ? null : context.getErrors().get(0).getPath().orElse(null);
        return response.contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(ErrorBody.of(message, type, param, null));
    }
}
