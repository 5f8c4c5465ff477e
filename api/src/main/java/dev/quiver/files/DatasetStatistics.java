package dev.quiver.files;

import io.micronaut.serde.annotation.Serdeable;

/** What validation learned about a training file: its form, example count and token counts. */
@Serdeable
public record DatasetStatistics(String format, int examples, long tokens, int maxExampleTokens) {
}
