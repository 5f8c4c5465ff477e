package dev.quiver.tasks;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ListView;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.tags.Tag;

/** Tasks as OpenAI function tools, ready for a chat completion's {@code tools} list. */
@Tag(name = "tasks")
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ToolsController {
    private final TaskService tasks;

    public ToolsController(TaskService tasks) {
        this.tasks = tasks;
    }

    /** Every task of the caller's project; {@code data} is the {@code tools} array. */
    @Get("/tools")
    public ListView<TaskViews.FunctionTool> tools(@RequestAttribute(AuthFilter.PROJECT) String project) {
        return ListView.of(tasks.list(project).stream().map(TaskViews.FunctionTool::of).toList(), false);
    }

    @Get("/tasks/{name}/tool")
    public TaskViews.FunctionTool tool(@RequestAttribute(AuthFilter.PROJECT) String project,
                                       @PathVariable String name) {
        return TaskViews.FunctionTool.of(tasks.get(project, name));
    }
}
