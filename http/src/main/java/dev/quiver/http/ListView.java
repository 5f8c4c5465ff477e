package dev.quiver.http;

import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** OpenAI's list envelope: {@code {"object": "list", "data": [...], "has_more": false}}. */
@Serdeable
public record ListView<T>(String object, List<T> data, boolean hasMore) {
    public static <T> ListView<T> of(List<T> data, boolean hasMore) {
        return new ListView<>("list", data, hasMore);
    }
}
