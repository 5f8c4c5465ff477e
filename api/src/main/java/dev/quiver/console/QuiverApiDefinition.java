package dev.quiver.console;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.info.License;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.tags.Tag;

/** The OpenAPI document's head: title, the Bearer key scheme and the tags the controllers' operations fall under. */
@OpenAPIDefinition(
        info = @Info(title = "Quiver", version = "0.1",
                description = "Control plane and OpenAI-compatible serving API of Quiver: files, fine-tuning jobs,"
                        + " the adapter registry, tasks and the serving tier. On loopback no key is needed;"
                        + " elsewhere send `Authorization: Bearer qk-...`.",
                license = @License(name = "Apache-2.0")),
        security = @SecurityRequirement(name = "apiKey"),
        tags = {
            @Tag(name = "files", description = "Training data: upload (validated line by line), list, download"),
            @Tag(name = "fine-tuning", description = "Fine-tuning jobs, their events (SSE) and checkpoints"),
            @Tag(name = "adapters", description = "The adapter registry"),
            @Tag(name = "tasks", description = "Tasks: an adapter, a prompt template and JSON schemas"),
            @Tag(name = "serving", description = "OpenAI-compatible models and completions"),
            @Tag(name = "admin", description = "API keys and metrics")
        })
@SecurityScheme(name = "apiKey", type = SecuritySchemeType.HTTP, scheme = "bearer", bearerFormat = "qk-...")
final class QuiverApiDefinition {
    private QuiverApiDefinition() {
    }
}
