package dev.quiver.capture;

import dev.quiver.http.ApiException;
import dev.quiver.server.QuiverConfig;
import io.micronaut.context.env.Environment;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Resolves where an upstream's API key lives: {@code env:NAME} (an environment variable),
 * {@code file:PATH} (a file under the data dir, e.g. a mounted Kubernetes secret) or {@code property:NAME}
 * (a Micronaut property). Only the reference is ever stored or shown; the key is read per call, so a
 * rotated secret takes effect without touching the task.
 */
@Singleton
public class SecretReference {
    private final Environment environment;
    private final Path dataDir;

    public SecretReference(Environment environment, QuiverConfig config) {
        this.environment = environment;
        this.dataDir = Path.of(config.dataDir()).toAbsolutePath().normalize();
    }

    /** Checks that {@code reference} is well-formed and names a secret that exists now; a 400 naming {@code field}. */
    public void requireResolvable(String field, String reference) {
        if (resolve(field, reference).isEmpty()) {
            throw ApiException.invalid(field, field + " '" + reference + "' names no secret: "
                    + (reference.startsWith("env:") ? "set the environment variable " + reference.substring(4)
                    : reference.startsWith("file:") ? "create the file under the data dir"
                    : "set the property " + reference.substring(9)) + " on the server first");
        }
    }

    /** The key for a call; a 502 when the secret has gone, so the caller learns the upstream is misconfigured. */
    public String key(String taskName, String reference) {
        return resolve("api_key", reference).orElseThrow(() -> new ApiException(HttpStatus.BAD_GATEWAY,
                "server_error", "the upstream API key of task '" + taskName + "' (" + reference + ") names no"
                + " secret on this server; set it, or PUT /v1/tasks/" + taskName + "/upstream with another"
                + " api_key reference", null, "upstream_key_unavailable"));
    }

    private Optional<String> resolve(String field, String reference) {
        if (reference.startsWith("env:") && reference.length() > 4) {
            return Optional.ofNullable(System.getenv(reference.substring(4))).filter(v -> !v.isBlank());
        }
        if (reference.startsWith("property:") && reference.length() > 9) {
            return environment.getProperty(reference.substring(9), String.class).filter(v -> !v.isBlank());
        }
        if (reference.startsWith("file:") && reference.length() > 5) {
            return read(field, reference.substring(5));
        }
        throw ApiException.invalid(field, field + " must be a secret reference: env:NAME, file:PATH (relative to"
                + " the data dir) or property:NAME; never the key itself");
    }

    private Optional<String> read(String field, String relative) {
        Path file = dataDir.resolve(relative).normalize();
        if (Path.of(relative).isAbsolute() || !file.startsWith(dataDir)) {
            throw ApiException.invalid(field, field + " file:" + relative + " must be a path inside the data dir,"
                    + " relative to it (e.g. file:secrets/openai-key)");
        }
        try {
            return Files.isRegularFile(file) ? Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip())
                    .filter(v -> !v.isEmpty()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
