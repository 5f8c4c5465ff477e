package dev.quiver.serving.http;

import dev.quiver.http.ApiException;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.BaseModel;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.InferenceEngine;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
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
    private final List<AdapterSource> sources;
    private final Semaphore admissions;
    private final int maxSequenceLength;
    private final Set<String> registered = ConcurrentHashMap.newKeySet();

    public ServingEngine(BaseModel base, ServingConfig config, List<AdapterSource> sources) {
        this.base = base;
        this.sources = sources;
        this.admissions = new Semaphore(config.maxQueuedRequests());
        try {
            this.tokenizer = Tokenizer.load(base.path());
            this.template = ChatTemplate.load(base.path());
            int threads = config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors();
            EngineSettings settings = EngineSettings.builder()
                    .optMaxBatch(config.maxBatch())
                    .optMaxSequenceLength(config.maxSequenceLength())
                    .optLoraSlots(config.loraSlots())
                    .optMaxLoraRank(config.maxLoraRank())
                    .optThreads(threads)
                    .optHostCacheSize(config.hostCacheSize())
                    .optPrefillChunkTokens(config.prefillChunkTokens())
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

    public BaseModel base() {
        return base;
    }

    public int maxSequenceLength() {
        return maxSequenceLength;
    }

    /**
     * The engine's adapter key for {@code model} (null for the base model), registering the adapter with
     * the engine on first use; an unknown model is a 404.
     */
    public String adapterFor(String model, @Nullable String project) {
        if (model == null || model.isBlank()) {
            throw ApiException.invalid("model", "model is required: the base model '" + base.name()
                    + "' or an adapter name (GET /v1/models lists them)");
        }
        if (model.equals(base.name())) {
            return null;
        }
        AdapterSource.Entry entry = find(model, project);
        if (registered.add(entry.key())) {
            try {
                engine.registerAdapter(entry.key(), entry.dir());
            } catch (IOException | RuntimeException e) {
                registered.remove(entry.key());
                throw new ApiException(HttpStatus.UNPROCESSABLE_ENTITY, "invalid_request_error", "adapter '" + model
                        + "' cannot be loaded: " + e.getMessage(), "model", "adapter_invalid");
            }
        }
        return entry.key();
    }

    private AdapterSource.Entry find(String model, String project) {
        for (AdapterSource source : sources) {
            var entry = source.find(model, project);
            if (entry.isPresent()) {
                return entry.get();
            }
        }
        throw new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "The model '" + model
                + "' does not exist or you do not have access to it.", "model", "model_not_found");
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
