package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.RequestAttributes;
import dev.quiver.serving.Serving.Endpoint;
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

/** {@code POST /v1/chat/completions} and {@code POST /v1/completions}, OpenAI-compatible, streaming or not. */
@Controller("/v1")
@Requires(beans = LocalServing.class)
@ExecuteOn(TaskExecutors.BLOCKING)
public class CompletionsController {
    private final LocalServing serving;

    public CompletionsController(LocalServing serving) {
        this.serving = serving;
    }

    @Post(value = "/chat/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON,
            MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> chat(HttpRequest<?> request, @Nullable @Body String body) {
        return run(Endpoint.CHAT, RequestParser.body(body), request);
    }

    @Post(value = "/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON,
            MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> completions(HttpRequest<?> request, @Nullable @Body String body) {
        return run(Endpoint.COMPLETIONS, RequestParser.body(body), request);
    }

    private HttpResponse<?> run(Endpoint endpoint, ObjectNode body, HttpRequest<?> request) {
        String project = RequestAttributes.project(request);
        // a non-boolean stream falls to complete(), whose parser names the field
        if (body.path("stream").asBoolean(false)) {
            return HttpResponse.ok(serving.stream(endpoint, body, project).map(Event::of))
                    .contentType(MediaType.TEXT_EVENT_STREAM_TYPE);
        }
        return HttpResponse.ok(serving.complete(endpoint, body, project).toString())
                .contentType(MediaType.APPLICATION_JSON_TYPE);
    }
}
