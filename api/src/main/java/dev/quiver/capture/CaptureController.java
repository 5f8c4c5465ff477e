package dev.quiver.capture;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ApiException;
import dev.quiver.http.ListView;
import dev.quiver.tasks.TaskRequests;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.model.Pageable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.http.server.types.files.StreamedFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/**
 * A task's upstream ({@code /v1/tasks/{name}/upstream}), its OpenAI-compatible capture proxy
 * ({@code /v1/tasks/{name}/upstream/chat/completions}: an agent switches by changing its base URL), and
 * the calls captured ({@code /v1/tasks/{name}/captures}).
 */
@Controller("/v1/tasks/{name}")
@ExecuteOn(TaskExecutors.BLOCKING)
public class CaptureController {
    private static final int MAX_LIST = 1000;

    private final UpstreamService upstreams;
    private final CaptureProxy proxy;
    private final CapturedCallRepository calls;

    public CaptureController(UpstreamService upstreams, CaptureProxy proxy, CapturedCallRepository calls) {
        this.upstreams = upstreams;
        this.proxy = proxy;
        this.calls = calls;
    }

    /** {@code {"base_url", "model", "api_key": "env:NAME"|"file:PATH"|"property:NAME", "capture", "sample_rate", "retention_days"}}. */
    @Put(value = "/upstream", consumes = MediaType.ALL)
    public UpstreamViews.UpstreamView put(@RequestAttribute(AuthFilter.PROJECT) String project,
                                          @PathVariable String name, @Nullable @Body String body) {
        return view(name, upstreams.put(project, name, UpstreamViews.Settings.parse(TaskRequests.body(body))));
    }

    @Get("/upstream")
    public UpstreamViews.UpstreamView get(@RequestAttribute(AuthFilter.PROJECT) String project,
                                          @PathVariable String name) {
        return view(name, upstreams.get(project, name));
    }

    @Delete("/upstream")
    public UpstreamViews.Deleted delete(@RequestAttribute(AuthFilter.PROJECT) String project,
                                        @PathVariable String name) {
        upstreams.delete(project, name);
        return new UpstreamViews.Deleted("task.upstream", name, true);
    }

    /** Forwards an OpenAI chat completion request (streaming too) to the upstream and answers as it did. */
    @Post(value = "/upstream/chat/completions", consumes = MediaType.ALL)
    public HttpResponse<StreamedFile> chat(@RequestAttribute(AuthFilter.PROJECT) String project,
                                           @PathVariable String name, @Nullable @Body String body) {
        CaptureProxy.Forwarded answer = proxy.chat(project, name, body == null ? "" : body);
        HttpStatus status;
        try {
            status = HttpStatus.valueOf(answer.status());
        } catch (IllegalArgumentException e) {
            throw new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "the upstream of task '" + name
                    + "' answered with HTTP status " + answer.status(), null, "upstream_bad_status");
        }
        return HttpResponse.<StreamedFile>status(status)
                .body(new StreamedFile(answer.body(), MediaType.of(answer.contentType())));
    }

    /** The newest captured calls first, both sides; {@code limit} at most 1000. */
    @Get("/captures")
    public ListView<UpstreamViews.CallView> captures(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                     @PathVariable String name,
                                                     @QueryValue(defaultValue = "20") int limit) {
        if (limit < 1 || limit > MAX_LIST) {
            throw ApiException.invalid("limit", "limit must be between 1 and " + MAX_LIST + ", got " + limit);
        }
        Upstream upstream = upstreams.get(project, name);
        var page = calls.findByTaskIdOrderByIdDesc(upstream.getTaskId(), Pageable.from(0, limit + 1));
        return ListView.of(page.stream().limit(limit).map(UpstreamViews.CallView::of).toList(), page.size() > limit);
    }

    private UpstreamViews.UpstreamView view(String name, Upstream u) {
        return new UpstreamViews.UpstreamView("task.upstream", name, u.getBaseUrl(), u.getModel(), u.getApiKeyRef(),
                u.isCapture(), u.getSampleRate(), u.getRetentionDays(), "/v1/tasks/" + name + "/upstream",
                upstreams.count(u, CapturedCall.UPSTREAM), upstreams.count(u, CapturedCall.TASK),
                u.getUpdatedAt().getEpochSecond());
    }
}
