package dev.quiver.server;

import io.micronaut.context.annotation.ConfigurationProperties;
import jakarta.validation.constraints.NotBlank;

/** {@code quiver.*}: where Quiver keeps its data. */
@ConfigurationProperties("quiver")
public record QuiverConfig(@NotBlank String dataDir) {
}
