package dev.quiver.serving.http;

import dev.quiver.adapters.peft.LoraConfig;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Serves every PEFT directory under {@code quiver.serving.adapters-dir}, named by its directory name. */
@Singleton
@Requires(property = "quiver.serving.adapters-dir")
public class DirectoryAdapterSource implements AdapterSource {
    private final Path root;

    public DirectoryAdapterSource(ServingConfig config) {
        this.root = Path.of(config.adaptersDir()).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalArgumentException("adapters dir " + root + " is not a directory");
        }
    }

    @Override
    public Optional<Entry> find(String model, @Nullable String project) {
        if (model.contains("/") || model.contains("\\") || model.startsWith(".")) {
            return Optional.empty();
        }
        return entry(root.resolve(model));
    }

    @Override
    public List<Entry> list(@Nullable String project) {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.sorted().map(this::entry).flatMap(Optional::stream).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list adapters in " + root, e);
        }
    }

    private Optional<Entry> entry(Path dir) {
        if (!Files.isRegularFile(dir.resolve(LoraConfig.FILE))) {
            return Optional.empty();
        }
        try {
            long created = Files.getLastModifiedTime(dir.resolve(LoraConfig.FILE)).toMillis() / 1000;
            return Optional.of(new Entry(dir.getFileName().toString(), "dir:" + dir + "@" + created, dir, created));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
