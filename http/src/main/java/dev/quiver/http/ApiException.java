package dev.quiver.http;

import io.micronaut.http.HttpStatus;

/**
 * A client-facing failure rendered as OpenAI's error object; {@code param} names the offending field
 * where there is one.
 */
public class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(HttpStatus status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static ApiException invalid(String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", message, param, null);
    }

    public static ApiException notFound(String what, String id) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "No such " + what + ": '" + id + "'",
                null, "not_found");
    }

    public static ApiException conflict(String message) {
        return new ApiException(HttpStatus.CONFLICT, "invalid_request_error", message, null, "conflict");
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
