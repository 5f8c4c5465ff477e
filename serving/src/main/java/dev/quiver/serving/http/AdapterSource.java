package dev.quiver.serving.http;

import io.micronaut.core.annotation.Nullable;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the serving tier learns which adapters exist: a directory when it runs alone, the control
 * plane's registry (scoped to the caller's project) in the all-in-one server.
 */
public interface AdapterSource {

    /**
     * One servable adapter.
     *
     * @param model   the name clients send as {@code model}
     * @param key     a name unique to this adapter version, under which the engine caches it
     * @param created epoch seconds
     */
    record Entry(String model, String key, Path dir, long created) {
    }

    /** The adapter a client means by {@code model}, as seen from {@code project} (null when unauthenticated). */
    Optional<Entry> find(String model, @Nullable String project);

    /** Every adapter {@code project} may use. */
    List<Entry> list(@Nullable String project);
}
