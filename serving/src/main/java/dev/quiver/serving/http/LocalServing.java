package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.http.ObjectIds;
import dev.quiver.serving.Serving;
import dev.quiver.serving.ServingLimits;
import dev.quiver.serving.lora.NoFreeSlotException;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * {@link Serving} on this process's engine: what {@code /v1/chat/completions} and {@code /v1/completions}
 * run, and what tasks call in the all-in-one server. Every request goes parse, then admission (429 when
 * full), then adapter registration (the only disk read), then generation.
 */
@Singleton
@Requires(beans = ServingEngine.class)
public class LocalServing implements Serving {
    private static final Logger LOG = LoggerFactory.getLogger(LocalServing.class);
    /** What a client reads of a server error (OpenAiErrorResponseProcessor's words for the same). */
    private static final String SERVER_ERROR = "The server had an error while processing your request.";

    private final ServingEngine serving;
    private final RequestParser parser;

    public LocalServing(ServingEngine serving) {
        this.serving = serving;
        this.parser = new RequestParser(serving);
    }

    @Override
    public ServingLimits limits() {
        return serving.limits();
    }

    @Override
    public JsonNode complete(Endpoint endpoint, ObjectNode body, @Nullable String project) {
        GenerationPlan plan = parse(endpoint, body, project);
        if (plan.stream()) {
            throw ApiException.invalid("stream", "this call runs completions to the end; stream must be false");
        }
        ResponseWriter writer = writer(endpoint, plan);
        String adapter = admit(plan);
        try {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < plan.n(); i++) {
                handles.add(serving.engine().submit(new GenerationRequest(plan.promptTokens(), adapter,
                        plan.paramsForChoice(i), plan.constraint()), GenerationListener.NONE));
            }
            List<Completion> done = new ArrayList<>();
            for (GenerationHandle h : handles) {
                done.add(await(h));
            }
            return writer.complete(plan, done);
        } finally {
            serving.release(plan.n());
        }
    }

    @Override
    public Flux<String> stream(Endpoint endpoint, ObjectNode body, @Nullable String project) {
        GenerationPlan plan = parse(endpoint, body, project);
        if (!plan.stream()) {
            throw ApiException.invalid("stream", "stream must be true to stream a completion");
        }
        ResponseWriter writer = writer(endpoint, plan);
        String adapter = admit(plan);
        boolean chat = endpoint == Endpoint.CHAT;
        return Flux.<String>create(sink -> {
            AtomicInteger open = new AtomicInteger(plan.n());
            AtomicInteger completionTokens = new AtomicInteger();
            List<GenerationHandle> handles = new ArrayList<>();
            sink.onDispose(() -> handles.forEach(GenerationHandle::cancel));
            for (int i = 0; i < plan.n(); i++) {
                int index = i;
                if (chat) {
                    emit(sink, writer.roleChunk(index));
                } else if (!plan.echoPrompt().isEmpty()) {
                    emit(sink, writer.textChunk(index, plan.echoPrompt(), null, false, null));
                }
                ChoiceChunks chunks = new ChoiceChunks(writer, index, plan);
                handles.add(serving.engine().submit(new GenerationRequest(plan.promptTokens(), adapter,
                        plan.paramsForChoice(i), plan.constraint()), new GenerationListener() {
                    @Override
                    public void onToken(GeneratedToken token) {
                        chunks.token(token).forEach(chunk -> emit(sink, chunk));
                    }

                    @Override
                    public void onComplete(Completion completion) {
                        completionTokens.addAndGet(completion.completionTokens());
                        chunks.complete(completion).forEach(chunk -> emit(sink, chunk));
                        finish();
                    }

                    @Override
                    public void onError(Throwable error) {
                        RuntimeException e = engineError(error);
                        boolean client = e instanceof ApiException;
                        ObjectNode err = ResponseWriter.JSON.createObjectNode();
                        err.putObject("error").put("message", client ? e.getMessage() : SERVER_ERROR)
                                .put("type", client ? "invalid_request_error" : "server_error");
                        emit(sink, err);
                        finish();
                    }

                    private void finish() {
                        if (open.decrementAndGet() == 0) {
                            if (plan.includeUsage()) {
                                emit(sink, writer.usageChunk(plan.promptTokens().length, completionTokens.get()));
                            }
                            sink.next("[DONE]");
                            sink.complete();
                        }
                    }
                }));
            }
        }).doFinally(signal -> serving.release(plan.n()));
    }

    @Override
    @Nullable
    public String resolve(String model, @Nullable String project) {
        return serving.resolve(model, project);
    }

    @Override
    public void pin(String adapterId) {
        try {
            serving.engine().pinAdapter(adapterId);
        } catch (NoFreeSlotException e) {
            throw new ApiException(HttpStatus.CONFLICT, "invalid_request_error", "cannot pin adapter '" + adapterId
                    + "': " + e.getMessage(), "id", "no_free_slot");
        } catch (IOException e) {
            throw unreadable(e, "id");
        } catch (java.util.NoSuchElementException e) {
            throw new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", e.getMessage(), "id",
                    "adapter_not_found");
        }
    }

    @Override
    public void unpin(String adapterId) {
        serving.engine().unpinAdapter(adapterId);
    }

    private GenerationPlan parse(Endpoint endpoint, ObjectNode body, @Nullable String project) {
        return endpoint == Endpoint.CHAT ? parser.chat(body, project) : parser.completion(body, project);
    }

    /** Takes the plan's admission slots, then registers its adapter; on a refusal nothing stays held. */
    @Nullable
    private String admit(GenerationPlan plan) {
        serving.admit(plan.n());
        try {
            return serving.register(plan.adapter());
        } catch (RuntimeException e) {
            serving.release(plan.n());
            throw e;
        }
    }

    private ResponseWriter writer(Endpoint endpoint, GenerationPlan plan) {
        boolean chat = endpoint == Endpoint.CHAT;
        return new ResponseWriter(serving.tokenizer(), chat, ObjectIds.next(chat ? "chatcmpl-" : "cmpl-", 12),
                System.currentTimeMillis() / 1000, plan.model());
    }

    private static Completion await(GenerationHandle handle) {
        try {
            return handle.result().get();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw engineError(e.getCause());
        }
    }

    /**
     * An engine failure as the client should see it: a rejected request is a 400, an adapter whose files no longer
     * read (changed or removed on disk since it was registered, then evicted from host memory) a 422, anything else
     * a 500, whose message the client does not see.
     */
    private static RuntimeException engineError(Throwable cause) {
        if (cause instanceof IllegalArgumentException) {
            return ApiException.invalid(null, cause.getMessage());
        }
        if (cause instanceof IOException io) {
            return unreadable(io, "model");
        }
        LOG.error("generation failed", cause);
        return new IllegalStateException("generation failed: " + cause.getMessage(), cause);
    }

    /**
     * An adapter that could not be read, for the client: what happened and what to do, but not the adapter's
     * directory on this server (the log has the whole error).
     */
    private static ApiException unreadable(IOException e, String param) {
        LOG.warn("an adapter could not be read", e);
        return new ApiException(HttpStatus.UNPROCESSABLE_ENTITY, "invalid_request_error", "the adapter's files"
                + " could not be read: they changed or were removed on the server after it was registered. Upload or"
                + " register the adapter again", param, "adapter_invalid");
    }

    private static void emit(FluxSink<String> sink, JsonNode node) {
        sink.next(node.toString());
    }
}
