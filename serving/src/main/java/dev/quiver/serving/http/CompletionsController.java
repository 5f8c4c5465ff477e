package dev.quiver.serving.http;

import dev.quiver.http.ApiException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/** {@code POST /v1/chat/completions} and {@code POST /v1/completions}, OpenAI-compatible, streaming or not. */
@Controller("/v1")
@Requires(beans = ServingEngine.class)
@ExecuteOn(TaskExecutors.BLOCKING)
public class CompletionsController {
    /** The request attribute holding the caller's project, set by the control plane's auth filter when present. */
    public static final String PROJECT = "quiver.project";

    private final ServingEngine serving;
    private final ChatRunner runner;
    private final RequestParser parser;

    public CompletionsController(ServingEngine serving, ChatRunner runner) {
        this.serving = serving;
        this.runner = runner;
        this.parser = new RequestParser(serving);
    }

    @Post(value = "/chat/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON,
            MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> chat(HttpRequest<?> request, @Nullable @Body String body) {
        GenerationPlan plan = parser.chat(RequestParser.body(body), project(request));
        return run(plan, true, "chatcmpl-");
    }

    @Post(value = "/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON,
            MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> completions(HttpRequest<?> request, @Nullable @Body String body) {
        GenerationPlan plan = parser.completion(RequestParser.body(body), project(request));
        return run(plan, false, "cmpl-");
    }

    private static String project(HttpRequest<?> request) {
        return request.getAttribute(PROJECT, String.class).orElse(null);
    }

    private HttpResponse<?> run(GenerationPlan plan, boolean chat, String idPrefix) {
        String id = idPrefix + HexFormat.of().formatHex(randomBytes());
        ResponseWriter writer = new ResponseWriter(serving.tokenizer(), chat, id, System.currentTimeMillis() / 1000,
                plan.model());
        if (plan.stream()) {
            serving.admit(plan.n());
            return HttpResponse.ok(stream(plan, writer, chat)).contentType(MediaType.TEXT_EVENT_STREAM_TYPE);
        }
        List<Completion> done = runner.complete(plan);
        try {
            return HttpResponse.ok(ResponseWriter.JSON.writeValueAsString(writer.complete(plan, done)))
                    .contentType(MediaType.APPLICATION_JSON_TYPE);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SSE chunks for every choice as tokens arrive, then the usage chunk if asked for, then {@code [DONE]}. */
    private Flux<Event<String>> stream(GenerationPlan plan, ResponseWriter writer, boolean chat) {
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
                handles.add(serving.engine().submit(new GenerationRequest(plan.promptTokens(), plan.adapter(),
                        plan.paramsForChoice(i)), new GenerationListener() {
                    @Override
                    public void onToken(GeneratedToken token) {
                        emit(sink, writer.textChunk(index, token.text(), token, plan.topLogprobs() >= 0, null));
                    }

                    @Override
                    public void onComplete(Completion completion) {
                        completionTokens.addAndGet(completion.completionTokens());
                        emit(sink, writer.textChunk(index, completion.heldBack(), null, false,
                                completion.finishReason().openAiName()));
                        finish();
                    }

                    @Override
                    public void onError(Throwable error) {
                        RuntimeException e = ChatRunner.engineError(error);
                        ObjectNode err = ResponseWriter.JSON.createObjectNode();
                        err.putObject("error").put("message", e.getMessage()).put("type",
                                e instanceof ApiException ? "invalid_request_error" : "server_error");
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
        }).doFinally(signal -> serving.release(plan.n())).map(Event::of);
    }

    private static void emit(FluxSink<String> sink, JsonNode node) {
        sink.next(node.toString());
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
