package dev.quiver.http;

import io.micronaut.serde.annotation.Serdeable;

/** OpenAI's error envelope: {@code {"error": {"message", "type", "param", "code"}}}. */
@Serdeable
public record ErrorBody(Detail error) {

    /** The inner error object. */
    @Serdeable
    public record Detail(String message, String type, String param, String code) {
    }

    public static ErrorBody of(String message, String type, String param, String code) {
        return new ErrorBody(new Detail(message, type, param, code));
    }
}
