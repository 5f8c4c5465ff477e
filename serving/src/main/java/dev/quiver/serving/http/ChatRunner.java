package dev.quiver.serving.http;

import dev.quiver.http.ApiException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Runs completions to the end on the shared engine, within its admission limit: the non-streaming path of
 * {@code /v1/chat/completions}, and the one other code (tasks) uses to run a chat completion.
 */
@Singleton
@Requires(beans = ServingEngine.class)
public class ChatRunner {
    /**
     * The first choice of a finished chat completion.
     *
     * @param model        the model as requested ({@code name}, {@code name@version} or the base)
     * @param finishReason OpenAI's name: {@code stop} or {@code length}
     */
    public record Result(String model, String text, String finishReason, int promptTokens, int completionTokens) {
    }

    private final ServingEngine serving;
    private final RequestParser parser;

    public ChatRunner(ServingEngine serving) {
        this.serving = serving;
        this.parser = new RequestParser(serving);
    }

    /**
     * Runs an OpenAI chat completion body (non-streaming, one choice) exactly as
     * {@code POST /v1/chat/completions} would; a rejected field is the same 400 naming it.
     */
    public Result chat(JsonNode body, @Nullable String project) {
        if (body.path("stream").asBoolean(false)) {
            throw ApiException.invalid("stream", "ChatRunner runs completions to the end; stream must be false");
        }
        GenerationPlan plan = parser.chat(body, project);
        Completion c = complete(plan).get(0);
        return new Result(plan.model(), c.text(), c.finishReason().openAiName(), plan.promptTokens().length,
                c.completionTokens());
    }

    /** Admits the plan's {@code n} choices, generates them all and waits for them; 429 when the server is full. */
    List<Completion> complete(GenerationPlan plan) {
        serving.admit(plan.n());
        try {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < plan.n(); i++) {
                handles.add(serving.engine().submit(new GenerationRequest(plan.promptTokens(), plan.adapter(),
                        plan.paramsForChoice(i)), GenerationListener.NONE));
            }
            List<Completion> done = new ArrayList<>();
            for (GenerationHandle h : handles) {
                done.add(await(h));
            }
            return done;
        } finally {
            serving.release(plan.n());
        }
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

    /** An engine failure as the client should see it: a rejected request is a 400, anything else a 500. */
    static RuntimeException engineError(Throwable cause) {
        if (cause instanceof IllegalArgumentException) {
            return ApiException.invalid(null, cause.getMessage());
        }
        return new IllegalStateException("generation failed: " + cause.getMessage(), cause);
    }
}
