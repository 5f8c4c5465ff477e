package dev.quiver.serving.http;

import dev.quiver.adapters.model.GenerationDefaults;
import dev.quiver.http.ApiException;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.BaseModel;
import dev.quiver.serving.ServingLimits;
import dev.quiver.serving.http.toolcalls.ToolCallFormats;
import dev.quiver.serving.http.toolcalls.ToolCallParser;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.ExecutionProvider;
import dev.quiver.serving.runtime.InferenceEngine;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * The serving tier's one engine over the shared base model, with its tokenizer and chat template,
 * the adapters it learns about from {@link AdapterSource}s, and admission control (429 when full).
 */
@Singleton
@Requires(property = "quiver.base-model.path")
@Requires(property = "quiver.serving.enabled", notEquals = "false")
public class ServingEngine {
    private final BaseModel base;
    private final InferenceEngine engine;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final GenerationDefaults defaults;
    private final Optional<ToolCallParser> toolCalls;
    private final List<AdapterSource> sources;
    private final Semaphore admissions;
    private final int maxSequenceLength;
    private final EngineSettings settings;
    // engine key -> its registration, done or under way; a failed one is removed so that the next call retries
    private final Map<String, CompletableFuture<Void>> registrations = new ConcurrentHashMap<>();

    public ServingEngine(BaseModel base, ServingConfig config, List<AdapterSource> sources) {
        this.base = base;
        this.sources = sources;
        this.admissions = new Semaphore(config.maxQueuedRequests());
        try {
            this.tokenizer = Tokenizer.load(base.path());
            this.template = ChatTemplate.load(base.path());
            this.defaults = GenerationDefaults.load(base.path());
            this.toolCalls = ToolCallFormats.forTemplate(template.text(true) == null ? "" : template.text(true));
            int threads = config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors();
            this.settings = EngineSettings.builder()
                    .optMaxBatch(config.maxBatch())
                    .optMaxSequenceLength(config.maxSequenceLength())
                    .optLoraSlots(config.loraSlots())
                    .optMaxLoraRank(config.maxLoraRank())
                    .optLoraTargets(config.loraTargets())
                    .optThreads(threads)
                    .optHostCacheSize(config.hostCacheSize())
                    .optPrefillChunkTokens(config.prefillChunkTokens())
                    .optQuantization(config.quantization())
                    .optGraphCacheDir(config.graphCacheDir() == null ? null : java.nio.file.Path.of(config.graphCacheDir()))
                    .optPrefillBudget(config.prefillBudget())
                    .optExecutionProvider(ExecutionProvider.parse(config.executionProvider()))
                    .build();
            this.engine = InferenceEngine.open(base.path(), settings);
            this.maxSequenceLength = Math.min(config.maxSequenceLength(), base.config().maxPositionEmbeddings());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start serving " + base.path() + ": " + e.getMessage(), e);
        }
    }

    public InferenceEngine engine() {
        return engine;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate template() {
        return template;
    }

    /** The sampling defaults of the model's generation_config.json, for requests that leave them unset. */
    public GenerationDefaults defaults() {
        return defaults;
    }

    /** The parser for the tool calls of this model's family, empty when its template's format is unknown. */
    public Optional<ToolCallParser> toolCalls() {
        return toolCalls;
    }

    public BaseModel base() {
        return base;
    }

    public int maxSequenceLength() {
        return maxSequenceLength;
    }

    /**
     * The adapter a client means by {@code model} as {@code project} sees it, or null for the base model;
     * an unknown model is a 404. Looks the name up only: nothing is read from disk here, so a request that
     * admission then refuses has cost no I/O.
     */
    @Nullable
    public AdapterSource.Entry find(String model, @Nullable String project) {
        if (model == null || model.isBlank()) {
            throw ApiException.invalid("model", "model is required: the base model '" + base.name()
                    + "' or an adapter name (GET /v1/models lists them)");
        }
        if (model.equals(base.name())) {
            return null;
        }
        for (AdapterSource source : sources) {
            var entry = source.find(model, project);
            if (entry.isPresent()) {
                return entry.get();
            }
        }
        throw new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "The model '" + model
                + "' does not exist or you do not have access to it.", "model", "model_not_found");
    }

    /**
     * Registers {@code entry} with the engine unless it already is, and returns its engine key (null for the
     * base model). Concurrent callers for the same adapter wait for the one registration, which reads the
     * adapter from disk once; a failed registration is a 422 for all of them and is tried afresh next time.
     */
    @Nullable
    public String register(@Nullable AdapterSource.Entry entry) {
        if (entry == null) {
            return null;
        }
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> registration = registrations.putIfAbsent(entry.key(), mine);
        if (registration == null) {
            registration = mine;
            try {
                engine.registerAdapter(entry.key(), entry.dir());
                mine.complete(null);
            } catch (IOException | RuntimeException e) {
                registrations.remove(entry.key(), mine);
                mine.completeExceptionally(e);
            }
        }
        try {
            registration.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            // the message names the adapter's directory, a path on this server: the client reads "its directory"
            String why = String.valueOf(cause.getMessage()).replace(entry.dir().toAbsolutePath().toString(),
                    "its directory").replace(entry.dir().toString(), "its directory");
            throw new ApiException(HttpStatus.UNPROCESSABLE_ENTITY, "invalid_request_error", "adapter '"
                    + entry.model() + "' cannot be loaded: " + why, "model", "adapter_invalid");
        }
        return entry.key();
    }

    /** {@link #find} then {@link #register}: the engine key of {@code model}, registered, or null for the base. */
    @Nullable
    public String resolve(String model, @Nullable String project) {
        return register(find(model, project));
    }

    /** What this engine holds, as {@link dev.quiver.serving.Serving#limits()} reports it. */
    public ServingLimits limits() {
        return new ServingLimits(base.name(), settings.maxLoraRank(), settings.loraTargets(), maxSequenceLength,
                settings.loraSlots(), settings.maxBatch());
    }

    /** Every adapter visible to {@code project}. */
    public List<AdapterSource.Entry> adapters(@Nullable String project) {
        return sources.stream().flatMap(s -> s.list(project).stream()).toList();
    }

    /** Takes one admission slot or fails with 429; release it when the request ends. */
    public void admit(int requests) {
        if (!admissions.tryAcquire(requests)) {
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error",
                    "The server is at capacity; retry after a moment.", null, "queue_full");
        }
    }

    public void release(int requests) {
        admissions.release(requests);
    }

    @PreDestroy
    public void close() throws IOException {
        engine.close();
        tokenizer.close();
    }
}
