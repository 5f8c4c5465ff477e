package dev.quiver.declared;

import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** The declared file ({@code quiver.declared.file}) as the chart mounts it into every Quiver pod. */
@Singleton
@Requires(property = "quiver.declared.file")
public class DeclaredFile {
    /** The parsed declarations and the hash of the text they came from. */
    public record Snapshot(DeclaredConfig config, String sha256) {
    }

    private final WatchedFile file;
    private final String project;

    public DeclaredFile(DeclaredSettings settings) {
        this.file = new WatchedFile(Path.of(settings.file()));
        this.project = settings.project();
    }

    public Path path() {
        return file.path();
    }

    /** The project the declared adapters live in. */
    public String project() {
        return project;
    }

    /** The declarations now; empty while the file does not exist. */
    public Optional<Snapshot> read() throws DeclaredFileException {
        try {
            Optional<WatchedFile.Content> content = file.read();
            if (content.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(new Snapshot(DeclaredConfig.parse(content.get().text(), path().toString()),
                    content.get().sha256()));
        } catch (IOException e) {
            throw new DeclaredFileException(path() + ": cannot read: " + e.getMessage(), e);
        }
    }
}
