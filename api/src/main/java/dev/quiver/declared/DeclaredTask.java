package dev.quiver.declared;

import io.micronaut.core.annotation.Nullable;
import java.util.Map;

/**
 * One declared task: a tool named {@code name} that calls {@code adapter} (a declared or registered adapter,
 * optionally {@code name@version}), with JSON Schemas (as parsed maps) for its input and output.
 */
public record DeclaredTask(String name, String description, String adapter, @Nullable String promptTemplate,
                           Map<String, Object> inputSchema, Map<String, Object> outputSchema) {
}
