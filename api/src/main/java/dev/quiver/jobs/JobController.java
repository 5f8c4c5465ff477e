package dev.quiver.jobs;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ApiException;
import dev.quiver.http.ListView;
import dev.quiver.http.PageLimit;
import dev.quiver.tasks.TaskService;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/** {@code /v1/fine_tuning/jobs}: OpenAI's fine-tuning API. */
@Tag(name = "fine-tuning")
@Controller("/v1/fine_tuning/jobs")
@ExecuteOn(TaskExecutors.BLOCKING)
public class JobController {
    private static final Duration POLL = Duration.ofMillis(300);

    private final JobService jobs;
    private final Launcher launcher;
    private final TaskService tasks;

    public JobController(JobService jobs, Launcher launcher, TaskService tasks) {
        this.jobs = jobs;
        this.launcher = launcher;
        this.tasks = tasks;
    }

    @Post
    public JobViews.Job create(@RequestAttribute(AuthFilter.PROJECT) String project,
                               @Body JobViews.CreateJob request) {
        if (request.task() != null && tasks.find(project, request.task()).isEmpty()) {
            throw ApiException.invalid("task", "task '" + request.task() + "' does not exist; create it with POST"
                    + " /v1/tasks first (or create the task with a training_file to fine-tune it in one step)");
        }
        return JobViews.Job.of(jobs.create(project, request));
    }

    @Get
    public ListView<JobViews.Job> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                       @Nullable @QueryValue String after,
                                       @Nullable @QueryValue Integer limit) {
        int n = PageLimit.PAGED.of(limit);
        List<FineTuningJob> page = jobs.list(project, after, n);
        return ListView.of(page.stream().limit(n).map(JobViews.Job::of).toList(), page.size() > n);
    }

    @Get("/{id}")
    public JobViews.Job get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id) {
        return JobViews.Job.of(jobs.get(project, id));
    }

    @Post("/{id}/cancel")
    public JobViews.Job cancel(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id) {
        FineTuningJob job = jobs.cancel(project, id);
        if (job.getLauncherRef() != null) {
            launcher.cancel(job.getLauncherRef());
        }
        return JobViews.Job.of(job);
    }

    /**
     * Newest first, as OpenAI lists them ({@code after} pages to older events); with {@code stream=true}
     * the log as server-sent events instead, oldest first, following the job live until it ends.
     */
    @ApiResponse(responseCode = "200", description = "The events, newest first; with stream=true as SSE, oldest first",
            content = {@Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(ref = "#/components/schemas/JobEventList")),
                @Content(mediaType = MediaType.TEXT_EVENT_STREAM, schema = @Schema(type = "string"))})
    @Get(value = "/{id}/events", produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> events(@RequestAttribute(AuthFilter.PROJECT) String project,
                                  @PathVariable String id, @Nullable @QueryValue String after,
                                  @Nullable @QueryValue Integer limit,
                                  @QueryValue(defaultValue = "false") boolean stream) {
        int n = PageLimit.PAGED.of(limit);
        if (stream) {
            return HttpResponse.ok(stream(project, id)).contentType(MediaType.TEXT_EVENT_STREAM_TYPE);
        }
        return HttpResponse.ok(page(project, id, after, n));
    }

    private ListView<JobViews.Event> page(String project, String id, String after, int limit) {
        List<JobEvent> all = new ArrayList<>(jobs.events(project, id, 0));
        Collections.reverse(all);
        long before = after == null ? Long.MAX_VALUE : eventId(after);
        List<JobViews.Event> older = all.stream().filter(e -> e.getId() < before).map(JobController::view).toList();
        return ListView.of(older.subList(0, Math.min(limit, older.size())), older.size() > limit);
    }

    private Publisher<Event<JobViews.Event>> stream(String project, String id) {
        jobs.get(project, id);
        long[] cursor = {0};
        boolean[] done = {false};
        return Flux.interval(Duration.ZERO, POLL, Schedulers.boundedElastic())
                .takeWhile(tick -> !done[0])
                .concatMapIterable(tick -> {
                    List<JobEvent> fresh = jobs.events(project, id, cursor[0]);
                    if (!fresh.isEmpty()) {
                        cursor[0] = fresh.get(fresh.size() - 1).getId();
                    }
                    if (fresh.isEmpty() && jobs.get(project, id).getStatus().isTerminal()) {
                        done[0] = true;
                    }
                    return fresh.stream().map(e -> Event.of(view(e)).id("ftevent-" + e.getId())).toList();
                });
    }

    @Get("/{id}/checkpoints")
    public ListView<JobViews.Checkpoint> checkpoints(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                     @PathVariable String id,
                                                     @Nullable @QueryValue Integer limit) {
        return PageLimit.WHOLE_LIST.page(jobs.checkpoints(project, id).stream().map(JobViews.Checkpoint::of)
                .toList(), limit);
    }

    private static JobViews.Event view(JobEvent e) {
        return JobViews.Event.of(e);
    }

    private static long eventId(String after) {
        try {
            return Long.parseLong(after.replace("ftevent-", ""));
        } catch (NumberFormatException e) {
            throw ApiException.invalid("after", "after must be an event id like ftevent-12");
        }
    }
}
