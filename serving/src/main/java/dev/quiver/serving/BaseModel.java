package dev.quiver.serving;

import dev.quiver.adapters.model.ModelConfig;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The one base model this deployment fine-tunes and serves: {@code quiver.base-model.path} (a Hugging
 * Face directory) under the name {@code quiver.base-model.name} (default: the directory's name).
 */
@Singleton
@Requires(property = "quiver.base-model.path")
public class BaseModel {
    private final Path path;
    private final String name;
    private final ModelConfig config;

    public BaseModel(@Value("${quiver.base-model.path}") String path,
                     @Value("${quiver.base-model.name:}") String name) {
        this.path = Path.of(path).toAbsolutePath().normalize();
        this.name = name.isBlank() ? this.path.getFileName().toString() : name;
        try {
            this.config = ModelConfig.load(this.path);
        } catch (IOException e) {
            throw new UncheckedIOException("base model " + this.path + " cannot be loaded: " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    /** The name clients use as {@code model}. */
    public String name() {
        return name;
    }

    public ModelConfig config() {
        return config;
    }
}
