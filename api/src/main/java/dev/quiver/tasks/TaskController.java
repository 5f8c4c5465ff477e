package dev.quiver.tasks;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ListView;
import dev.quiver.http.PageLimit;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;

/**
 * {@code /v1/tasks}: define tasks, call them ({@code invoke}), roll them back to an earlier adapter, and
 * read their history and statistics.
 */
@Tag(name = "tasks")
@Controller("/v1/tasks")
@ExecuteOn(TaskExecutors.BLOCKING)
public class TaskController {
    private final TaskService tasks;
    private final TaskRequests requests;
    private final TaskInvoker invoker;
    private final TaskStats stats;

    public TaskController(TaskService tasks, TaskRequests requests, TaskInvoker invoker, TaskStats stats) {
        this.tasks = tasks;
        this.requests = requests;
        this.invoker = invoker;
        this.stats = stats;
    }

    /** With {@code training_file}, also starts the fine-tuning job the task waits for. */
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(ref = "#/components/schemas/TaskCreate")))
    @Post(consumes = MediaType.ALL)
    public HttpResponse<TaskViews.TaskView> create(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                   @Nullable @Body String body) {
        Task task = tasks.create(project, requests.create(TaskRequests.body(body)));
        return HttpResponse.created(view(task), URI.create("/v1/tasks/" + task.getName()));
    }

    @Get
    public ListView<TaskViews.TaskView> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                             @Nullable @QueryValue Integer limit) {
        return PageLimit.WHOLE_LIST.page(tasks.list(project).stream().map(this::view).toList(), limit);
    }

    @Get("/{name}")
    public TaskViews.TaskView get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name) {
        return view(tasks.get(project, name));
    }

    /** Changes only the fields present; {@code "output_schema": null} removes the output schema. */
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(ref = "#/components/schemas/TaskPatch")))
    @Patch(value = "/{name}", consumes = MediaType.ALL)
    public TaskViews.TaskView update(@RequestAttribute(AuthFilter.PROJECT) String project,
                                     @PathVariable String name, @Nullable @Body String body) {
        Task current = tasks.get(project, name);
        return view(tasks.update(project, name, requests.update(name, TaskDefinition.of(current),
                TaskRequests.body(body))));
    }

    @Delete("/{name}")
    public TaskViews.Deleted delete(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name) {
        Task task = tasks.delete(project, name);
        stats.forget(project, name);
        return new TaskViews.Deleted(task.getId(), "task", task.getName(), true);
    }

    /** {@code {"input": {...}}} to {@code {"output", "raw", "adapter", "usage", "latency_ms"}}. */
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(ref = "#/components/schemas/TaskInvocation")))
    @Operation(summary = "Runs the task on an input: {\"input\": {...}} to its output, raw text, usage and latency")
    @Post(value = "/{name}/invoke", consumes = MediaType.ALL)
    public TaskViews.InvocationView invoke(@RequestAttribute(AuthFilter.PROJECT) String project,
                                           @PathVariable String name, @Nullable @Body String body) {
        return TaskViews.InvocationView.of(invoker.invoke(project, name, TaskRequests.body(body).get("input")));
    }

    @Post("/{name}/rollback")
    public TaskViews.TaskView rollback(@RequestAttribute(AuthFilter.PROJECT) String project,
                                       @PathVariable String name) {
        return view(tasks.rollback(project, name));
    }

    /** Every adapter the task has used, oldest first; {@code active} marks the one it uses now. */
    @Get("/{name}/versions")
    public ListView<TaskViews.Version> versions(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                @PathVariable String name) {
        Task task = tasks.get(project, name);
        return ListView.of(tasks.versions(project, name).stream().map(v -> TaskViews.Version.of(v, task)).toList(),
                false);
    }

    @Get("/{name}/stats")
    public TaskViews.Stats stats(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name) {
        tasks.get(project, name);
        return TaskViews.Stats.of(name, stats.snapshot(project, name));
    }

    private TaskViews.TaskView view(Task task) {
        return TaskViews.TaskView.of(task, tasks.state(task));
    }
}
