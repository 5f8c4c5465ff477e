package dev.quiver.registry;

import dev.quiver.auth.Project;
import dev.quiver.serving.http.AdapterSource;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Optional;

/**
 * Serves the registry's adapters in the all-in-one server: a model name resolves within the caller's
 * project only, so one project never sees or calls another's adapters.
 */
@Singleton
public class RegistryAdapterSource implements AdapterSource {
    private final AdapterService adapters;

    public RegistryAdapterSource(AdapterService adapters) {
        this.adapters = adapters;
    }

    @Override
    public Optional<Entry> find(String model, @Nullable String project) {
        return adapters.find(project == null ? Project.DEFAULT_ID : project, model).map(this::entry);
    }

    @Override
    public List<Entry> list(@Nullable String project) {
        return adapters.list(project == null ? Project.DEFAULT_ID : project).stream().map(this::entry).toList();
    }

    private Entry entry(AdapterRecord r) {
        return new Entry(r.getName(), r.getId(), adapters.dir(r), r.getCreatedAt().getEpochSecond());
    }
}
