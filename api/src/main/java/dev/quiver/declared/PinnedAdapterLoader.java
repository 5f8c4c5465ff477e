package dev.quiver.declared;

import dev.quiver.serving.Serving;
import dev.quiver.serving.http.LocalServing;
import io.micronaut.context.annotation.Requires;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the declared pinned adapters loaded in this serving replica: every replica reads the shared declared
 * file itself, at start and whenever it changes, so a restarted or added replica pins the same set. A pinned
 * adapter resolves to the registry version the control plane recorded for it (for a {@code name@version}
 * source, that version); one that cannot be resolved yet (the control plane has not imported it) is tried
 * again at every poll, while whatever it resolved to before stays pinned. Adapters no longer pinned are
 * unpinned and become ordinary residents that the least-recently-used rule may evict.
 */
@Singleton
@Requires(property = "quiver.declared.file")
@Requires(beans = LocalServing.class)
public class PinnedAdapterLoader {
    private static final Logger LOG = LoggerFactory.getLogger(PinnedAdapterLoader.class);

    private final DeclaredFile file;
    private final Serving serving;
    private final DeclaredAdapterStateRepository states;
    private DeclaredConfig declared = DeclaredConfig.EMPTY;
    private String sha256;
    /** Declared name to the engine key pinned for it. */
    private Map<String, String> pinned = Map.of();
    /** Declared name to the problem last logged for it, so that a persisting one is logged once. */
    private final Map<String, String> problems = new HashMap<>();
    private String fileProblem;

    public PinnedAdapterLoader(DeclaredFile file, LocalServing serving, DeclaredAdapterStateRepository states) {
        this.file = file;
        this.serving = serving;
        this.states = states;
    }

    /** Re-reads the declared file and pins what it declares pinned; returns declared name to pinned engine key. */
    @Scheduled(fixedDelay = "${quiver.declared.poll-interval:5s}", initialDelay = "${quiver.declared.initial-delay:1s}")
    public synchronized Map<String, String> poll() {
        try {
            var snapshot = file.read();
            if (snapshot.isEmpty()) {
                fileProblem("declared file " + file.path() + " does not exist; the adapters pinned so far stay pinned");
            } else if (!snapshot.get().sha256().equals(sha256)) {
                declared = snapshot.get().config();
                sha256 = snapshot.get().sha256();
                fileProblem = null;
                LOG.info("declared file {} read: {} adapter(s), {} pinned", file.path(), declared.adapters().size(),
                        declared.pinned().size());
            }
        } catch (DeclaredFileException e) {
            fileProblem(e.getMessage() + "; the adapters pinned so far stay pinned");
        }
        return apply(declared);
    }

    /** Declared name to the engine key pinned for it now. */
    public synchronized Map<String, String> pinned() {
        return pinned;
    }

    private Map<String, String> apply(DeclaredConfig config) {
        String project = file.project();
        Map<String, DeclaredAdapterState> recorded = new HashMap<>();
        try {
            states.findByProjectIdOrderByName(project).forEach(s -> recorded.put(s.getName(), s));
            problems.remove("*");
        } catch (RuntimeException e) {
            // without the control plane's records only name@version sources resolve; the rest wait
            problem("*", "cannot read the declared adapters' records: " + e.getMessage());
        }
        // resolve first, then make room, then pin: with every slot pinned, a swap must unpin before it pins
        Map<String, String> wanted = new LinkedHashMap<>();
        Map<String, String> references = new HashMap<>();
        for (DeclaredAdapter adapter : config.pinned().values()) {
            String before = pinned.get(adapter.name());
            String reference = reference(adapter, recorded.get(adapter.name()));
            if (reference == null) {
                keep(wanted, adapter.name(), before);
                continue;
            }
            try {
                wanted.put(adapter.name(), serving.resolve(reference, project));
                references.put(adapter.name(), reference);
            } catch (RuntimeException e) {
                problem(adapter.name(), "cannot pin declared adapter '" + adapter.name() + "' (" + reference + "): "
                        + message(e));
                keep(wanted, adapter.name(), before);
            }
        }
        for (Map.Entry<String, String> e : pinned.entrySet()) {
            if (!wanted.containsValue(e.getValue())) {
                serving.unpin(e.getValue());
                LOG.info("unpinned declared adapter '{}': {}", e.getKey(), wanted.containsKey(e.getKey())
                        ? "another version is declared" : "no longer declared pinned");
            }
        }
        Map<String, String> now = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            String name = e.getKey();
            String before = pinned.get(name);
            try {
                serving.pin(e.getValue());
                now.put(name, e.getValue());
                if (!e.getValue().equals(before)) {
                    LOG.info("pinned declared adapter '{}' ({})", name, references.get(name));
                }
                if (references.containsKey(name)) {
                    problems.remove(name);
                }
            } catch (RuntimeException ex) {
                problem(name, "cannot pin declared adapter '" + name + "' (" + references.get(name) + "): "
                        + message(ex));
                if (before != null && !before.equals(e.getValue())) {
                    try {
                        serving.pin(before); // the version pinned so far serves on, if it is still resident
                        now.put(name, before);
                    } catch (RuntimeException ignored) {
                        // nothing of it is pinned now; the next poll tries again
                    }
                }
            }
        }
        problems.keySet().removeIf(name -> !name.equals("*") && !config.pinned().containsKey(name));
        pinned = Collections.unmodifiableMap(now);
        return pinned;
    }

    /** The registry reference a pinned declaration resolves to, or null (logged) while it cannot be resolved. */
    private String reference(DeclaredAdapter adapter, DeclaredAdapterState recorded) {
        DeclaredSource source = adapter.source();
        if (source instanceof DeclaredSource.Registry registry) {
            return registry.reference();
        }
        if (source instanceof DeclaredSource.Invalid invalid) {
            problem(adapter.name(), "declared adapter '" + adapter.name() + "' is not pinned: " + invalid.reason());
            return null;
        }
        if (recorded != null && recorded.getAdapterRef() != null) {
            return recorded.getAdapterRef();
        }
        problem(adapter.name(), "declared adapter '" + adapter.name() + "' is not pinned yet: waiting for the"
                + " control plane to import it from " + (source instanceof DeclaredSource.Url url
                ? AdapterSourceFetcher.redact(url.uri()) : source.text())
                + (recorded != null && recorded.getError() != null ? " (it reported: " + recorded.getError() + ")" : ""));
        return null;
    }

    private static String message(Exception e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private static void keep(Map<String, String> now, String name, String before) {
        if (before != null) {
            now.put(name, before);
        }
    }

    private void problem(String name, String message) {
        if (!message.equals(problems.put(name, message))) {
            LOG.warn(message);
        }
    }

    private void fileProblem(String message) {
        if (!message.equals(fileProblem)) {
            LOG.error(message);
            fileProblem = message;
        }
    }
}
