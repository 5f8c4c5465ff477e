package dev.quiver.http;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** Renders {@link ApiException} as OpenAI's error object with its status. */
@Produces
@Singleton
@Requires(classes = {ApiException.class, ExceptionHandler.class})
public class ApiExceptionHandler implements ExceptionHandler<ApiException, HttpResponse<ErrorBody>> {
    @Override
    public HttpResponse<ErrorBody> handle(HttpRequest request, ApiException e) {
        HttpResponse<ErrorBody> response = HttpResponse.<ErrorBody>status(e.status())
                .body(ErrorBody.of(e.getMessage(), e.type(), e.param(), e.code()));
        if (e.status() == HttpStatus.TOO_MANY_REQUESTS) {
            return ((io.micronaut.http.MutableHttpResponse<ErrorBody>) response).header("Retry-After", "1");
        }
        return response;
    }
}
