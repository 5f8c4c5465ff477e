package dev.quiver.declared;

import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterRecordRepository;
import dev.quiver.registry.AdapterService;
import io.micronaut.context.annotation.Requires;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converges the adapter registry of the declared project to the declared file, in the control plane (where
 * the job scheduler runs): at start, whenever the file's content changes, and again a while after a
 * declaration failed. Reconciling is safe to repeat: an unchanged declaration touches nothing, a changed one
 * registers a new version (or adopts an identical newest one), a registry source is only recorded, and a name
 * no longer declared is retired (unpinned) while its registry versions stay. One failing declaration is
 * recorded and logged and never stops the others.
 */
@Singleton
@Requires(property = "quiver.declared.file")
@Requires(property = "quiver.jobs.scheduler.enabled", notEquals = "false")
public class DeclaredAdapterReconciler {
    private static final Logger LOG = LoggerFactory.getLogger(DeclaredAdapterReconciler.class);

    /** What reconciling did to one declared name. */
    public enum Action {
        /** A new registry version was registered from the source. */
        REGISTERED,
        /** The source matched the newest registered version, which was taken as is. */
        ADOPTED,
        /** A registry version ({@code name@version}) was recorded; nothing was copied. */
        ALIASED,
        /** The registry already held what is declared; at most the pinned flag changed. */
        UNCHANGED,
        /** No longer declared: unpinned, its registry versions kept. */
        RETIRED,
        /** The declaration cannot be met now; see the message. */
        FAILED
    }

    /** The outcome for one name; {@code adapterRef} is the registry version it resolves to, when there is one. */
    public record Outcome(String name, Action action, String adapterRef, String message) {
    }

    /** The outcome of one reconciliation. */
    public record Report(List<Outcome> outcomes) {
        public boolean failed() {
            return outcomes.stream().anyMatch(o -> o.action() == Action.FAILED);
        }

        public Map<String, Action> actions() {
            return outcomes.stream().collect(Collectors.toMap(Outcome::name, Outcome::action, (a, b) -> b,
                    LinkedHashMap::new));
        }

        public Optional<Outcome> of(String name) {
            return outcomes.stream().filter(o -> o.name().equals(name)).findFirst();
        }
    }

    private final DeclaredFile file;
    private final AdapterService adapters;
    private final AdapterRecordRepository records;
    private final DeclaredAdapterStateRepository states;
    private final ApiKeyService projects;
    private final AdapterSourceFetcher fetcher = new AdapterSourceFetcher();
    private final DeclaredTaskReconciler tasks;
    private final Duration retryInterval;
    private String appliedSha256;
    private long lastRunNanos;
    private boolean lastFailed;
    private String lastProblem;

    public DeclaredAdapterReconciler(DeclaredFile file, DeclaredSettings settings, AdapterService adapters,
                                     AdapterRecordRepository records, DeclaredAdapterStateRepository states,
                                     ApiKeyService projects, DeclaredTaskReconciler tasks) {
        this.tasks = tasks;
        this.file = file;
        this.adapters = adapters;
        this.records = records;
        this.states = states;
        this.projects = projects;
        this.retryInterval = settings.retryInterval();
    }

    /**
     * Reads the declared file and reconciles when its content changed, or when the last run failed and the
     * retry interval has passed; returns the report of a run, empty when there was nothing to do.
     */
    @Scheduled(fixedDelay = "${quiver.declared.poll-interval:5s}", initialDelay = "${quiver.declared.initial-delay:1s}")
    public synchronized Optional<Report> poll() {
        Optional<DeclaredFile.Snapshot> snapshot;
        try {
            snapshot = file.read();
        } catch (DeclaredFileException e) {
            problem(e.getMessage() + "; the adapters declared before stay as they are until it is fixed");
            return Optional.empty();
        }
        if (snapshot.isEmpty()) {
            problem("declared file " + file.path() + " does not exist; nothing is declared (and nothing retired)");
            return Optional.empty();
        }
        boolean changed = !snapshot.get().sha256().equals(appliedSha256);
        boolean retry = lastFailed && System.nanoTime() - lastRunNanos >= retryInterval.toNanos();
        if (!changed && !retry) {
            return Optional.empty();
        }
        lastProblem = null;
        try {
            Report report = reconcile(snapshot.get().config());
            appliedSha256 = snapshot.get().sha256();
            lastFailed = report.failed();
            lastRunNanos = System.nanoTime();
            return Optional.of(report);
        } catch (RuntimeException e) {
            // the database is away, or the like: the next tick tries again
            LOG.warn("cannot reconcile the declared adapters of {} now: {}", file.path(), e.getMessage(), e);
            return Optional.empty();
        }
    }

    /** Converges the registry of the declared project to {@code config}. */
    public synchronized Report reconcile(DeclaredConfig config) {
        String project = file.project();
        projects.ensureProject(project);
        Map<String, DeclaredAdapterState> known = new LinkedHashMap<>();
        states.findByProjectIdOrderByName(project).forEach(s -> known.put(s.getName(), s));
        List<Outcome> outcomes = new ArrayList<>();
        for (DeclaredAdapter declared : config.adapters().values()) {
            DeclaredAdapterState state = known.getOrDefault(declared.name(),
                    new DeclaredAdapterState(project, declared.name()));
            outcomes.add(converge(project, declared, state));
        }
        for (DeclaredAdapterState state : known.values()) {
            if (!state.isRetired() && !config.adapters().containsKey(state.getName())) {
                state.retire();
                states.update(state);
                outcomes.add(log(new Outcome(state.getName(), Action.RETIRED, state.getAdapterRef(),
                        "no longer declared: unpinned; its registry versions stay")));
            }
        }
        // tasks name adapters, so they converge after them
        tasks.reconcile(project, config.tasks()).forEach(this::problem);
        Report report = new Report(List.copyOf(outcomes));
        Map<Action, Long> counts = outcomes.stream().collect(Collectors.groupingBy(Outcome::action,
                () -> new EnumMap<>(Action.class), Collectors.counting()));
        LOG.info("declared adapters of project '{}' reconciled from {}: {}", project, file.path(),
                counts.isEmpty() ? "none declared" : counts.entrySet().stream()
                        .map(e -> e.getValue() + " " + e.getKey().name().toLowerCase()).collect(Collectors.joining(", ")));
        return report;
    }

    private Outcome converge(String project, DeclaredAdapter declared, DeclaredAdapterState state) {
        try {
            DeclaredSource source = declared.source();
            if (source instanceof DeclaredSource.Registry registry) {
                return log(alias(project, declared, registry, state));
            }
            if (source instanceof DeclaredSource.VolumePath path) {
                return log(importPath(project, declared, path, state));
            }
            if (source instanceof DeclaredSource.Url url) {
                return log(importUrl(project, declared, url, state));
            }
            throw new IOException(((DeclaredSource.Invalid) source).reason());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            state.failed(declared.source().text(), declared.pinned(), message);
            save(state);
            return log(new Outcome(declared.name(), Action.FAILED, state.getAdapterRef(), message));
        }
    }

    private Outcome alias(String project, DeclaredAdapter declared, DeclaredSource.Registry source,
                          DeclaredAdapterState state) throws IOException {
        AdapterRecord record = adapters.find(project, source.reference()).orElseThrow(() -> new IOException(
                "the registry of project '" + project + "' has no adapter " + source.reference()
                        + " (fine-tune or upload it first, or declare an existing version)"));
        boolean same = record.getId().equals(state.getAdapterId()) && source.text().equals(state.getSource());
        return record(declared, state, record, record.getSha256(), same ? Action.UNCHANGED : Action.ALIASED);
    }

    private Outcome importPath(String project, DeclaredAdapter declared, DeclaredSource.VolumePath source,
                               DeclaredAdapterState state) throws IOException {
        if (!Files.isDirectory(source.path())) {
            throw new IOException(source.path() + " is not a directory on the volume (a declared path must be a"
                    + " PEFT adapter directory with " + AdapterSourceFetcher.FILES + ")");
        }
        String digest = AdapterSourceFetcher.digest(source.path());
        Optional<AdapterRecord> current = unchanged(source, digest, state);
        if (current.isPresent()) {
            return record(declared, state, current.get(), digest, Action.UNCHANGED);
        }
        Path staged = adapters.newStagingDir();
        try {
            fetcher.copy(source.path(), staged);
        } catch (IOException e) {
            deleteTree(staged);
            throw e;
        }
        return register(project, declared, state, staged, digest);
    }

    private Outcome importUrl(String project, DeclaredAdapter declared, DeclaredSource.Url source,
                              DeclaredAdapterState state) throws IOException, InterruptedException {
        // a URL is not fetched again while its declaration is unchanged: a new adapter needs a new URL
        Optional<AdapterRecord> current = unchanged(source, state.getSourceDigest(), state);
        if (current.isPresent()) {
            return record(declared, state, current.get(), state.getSourceDigest(), Action.UNCHANGED);
        }
        Path staged = adapters.newStagingDir();
        String digest;
        try {
            fetcher.download(source.uri(), staged);
            digest = AdapterSourceFetcher.digest(staged);
        } catch (IOException | InterruptedException | RuntimeException e) {
            deleteTree(staged);
            throw e;
        }
        return register(project, declared, state, staged, digest);
    }

    /** The registered version the state already records for this very source, if it still exists. */
    private Optional<AdapterRecord> unchanged(DeclaredSource source, String digest, DeclaredAdapterState state) {
        if (state.getAdapterId() == null || !source.text().equals(state.getSource())
                || !Objects.equals(digest, state.getSourceDigest())) {
            return Optional.empty();
        }
        return records.findById(state.getAdapterId());
    }

    /** Registers the staged adapter as the next version of the declared name, unless the newest is identical. */
    private Outcome register(String project, DeclaredAdapter declared, DeclaredAdapterState state, Path staged,
                             String digest) throws IOException {
        Optional<AdapterRecord> newest = adapters.find(project, declared.name());
        if (newest.isPresent() && identical(adapters.dir(newest.get()), staged)) {
            deleteTree(staged);
            return record(declared, state, newest.get(), digest, Action.ADOPTED);
        }
        AdapterRecord record;
        try {
            record = adapters.register(project, declared.name(), null, staged);
        } catch (RuntimeException e) {
            throw new IOException("cannot register it: " + e.getMessage(), e);
        }
        return record(declared, state, record, digest, Action.REGISTERED);
    }

    private Outcome record(DeclaredAdapter declared, DeclaredAdapterState state, AdapterRecord record, String digest,
                           Action action) {
        String ref = record.getName() + "@" + record.getVersion();
        boolean pinChanged = state.isPinned() != declared.pinned();
        boolean dirty = action != Action.UNCHANGED || pinChanged || state.isRetired() || state.getError() != null
                || !ref.equals(state.getAdapterRef());
        if (dirty) {
            state.resolved(declared.source().text(), digest, record.getId(), ref, declared.pinned());
            save(state);
        }
        String message = switch (action) {
            case REGISTERED -> "registered " + ref + " from " + describe(declared.source());
            case ADOPTED -> describe(declared.source()) + " is identical to " + ref + ", which is kept";
            case ALIASED -> "declared as registry version " + ref;
            default -> pinChanged ? (declared.pinned() ? "now pinned" : "no longer pinned") : "unchanged";
        };
        return new Outcome(declared.name(), action, ref, message);
    }

    private void save(DeclaredAdapterState state) {
        if (states.existsById(state.getId())) {
            states.update(state);
        } else {
            states.save(state);
        }
    }

    private Outcome log(Outcome o) {
        switch (o.action()) {
            case FAILED -> LOG.error("declared adapter '{}' ({}): {}; the other declared adapters are unaffected",
                    o.name(), file.path(), o.message());
            case UNCHANGED -> {
                if (o.message().equals("unchanged")) {
                    LOG.debug("declared adapter '{}': unchanged ({})", o.name(), o.adapterRef());
                } else {
                    LOG.info("declared adapter '{}' ({}): {}", o.name(), o.adapterRef(), o.message());
                }
            }
            default -> LOG.info("declared adapter '{}': {}", o.name(), o.message());
        }
        return o;
    }

    private void problem(String message) {
        if (!message.equals(lastProblem)) {
            LOG.error(message);
            lastProblem = message;
        }
    }

    private static String describe(DeclaredSource source) {
        return source instanceof DeclaredSource.Url url ? AdapterSourceFetcher.redact(url.uri()) : source.text();
    }

    private static boolean identical(Path registered, Path staged) throws IOException {
        for (String f : List.of(LoraConfig.FILE, PeftAdapter.WEIGHTS_FILE)) {
            Path a = registered.resolve(f);
            Path b = staged.resolve(f);
            if (!Files.exists(a) || Files.size(a) != Files.size(b) || Files.mismatch(a, b) != -1) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover staging dir is swept at the next start
        }
    }
}
