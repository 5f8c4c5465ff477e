package dev.quiver.evals;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ListView;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskRequests;
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
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.URI;
import java.util.Map;
import java.util.stream.Collectors;

/** {@code /v1/evals}: run a model over a task's held-out file and read the scores and the log. */
@Controller("/v1/evals")
@ExecuteOn(TaskExecutors.BLOCKING)
public class EvalController {
    private final EvalService evals;
    private final EvalRunner runner;
    private final TaskService tasks;

    public EvalController(EvalService evals, EvalRunner runner, TaskService tasks) {
        this.evals = evals;
        this.runner = runner;
        this.tasks = tasks;
    }

    /** {@code {"task", "model": "upstream"|adapter|base, "file"}}: queued at once, runs in the background. */
    @Post(consumes = MediaType.ALL)
    public HttpResponse<EvalViews.EvalView> create(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                   @Nullable @Body String body) {
        EvalViews.Create request = EvalViews.Create.parse(TaskRequests.body(body));
        Eval eval = evals.create(project, request, null);
        runner.submit(eval.getId());
        return HttpResponse.created(view(eval, request.task()), URI.create("/v1/evals/" + eval.getId()));
    }

    /** Newest first; {@code task} narrows to one task. */
    @Get
    public ListView<EvalViews.EvalView> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                             @Nullable @QueryValue String task) {
        Map<String, String> names = tasks.list(project).stream().collect(Collectors.toMap(Task::getId, Task::getName));
        return ListView.of(evals.list(project, task).stream()
                .map(e -> view(e, names.getOrDefault(e.getTaskId(), ""))).toList(), false);
    }

    @Get("/{id}")
    public EvalViews.EvalView get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id) {
        Eval eval = evals.get(project, id);
        return view(eval, tasks.list(project).stream().filter(t -> t.getId().equals(eval.getTaskId()))
                .map(Task::getName).findFirst().orElse(""));
    }

    @Get("/{id}/events")
    public ListView<EvalViews.EventView> events(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                @PathVariable String id) {
        return ListView.of(evals.events(project, id).stream().map(e -> new EvalViews.EventView(e.getId(),
                "eval.event", e.getCreatedAt().getEpochSecond(), e.getLevel(), e.getMessage())).toList(), false);
    }

    static EvalViews.EvalView view(Eval e, String task) {
        return new EvalViews.EvalView(e.getId(), "eval", task, e.getModel(), e.getFileId(), e.getJobId(),
                e.getStatus(), e.getExamples(), EvalService.metrics(e), e.getError(), e.getCreatedAt().getEpochSecond(),
                e.getFinishedAt() == null ? null : e.getFinishedAt().getEpochSecond());
    }
}
