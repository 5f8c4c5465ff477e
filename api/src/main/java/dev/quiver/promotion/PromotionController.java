package dev.quiver.promotion;

import dev.quiver.auth.AuthFilter;
import dev.quiver.tasks.TaskRequests;
import dev.quiver.tasks.TaskService;
import dev.quiver.tasks.TaskVersion;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;

/**
 * {@code /v1/tasks/{name}/promotion}: the gate a fine-tuned adapter must pass to take over the task; and
 * {@code POST /v1/tasks/{name}/promote}, the manual move past it.
 */
@Controller("/v1/tasks/{name}")
@ExecuteOn(TaskExecutors.BLOCKING)
public class PromotionController {
    /** The answer to deleting a task's promotion policy. */
    @Serdeable
    public record PolicyDeleted(String object, String task, boolean deleted) {
    }

    /** The revision a manual promote made. */
    @Serdeable
    public record Promoted(String object, String task, int revision, String adapter, String reason) {
    }

    private final PromotionService policies;
    private final TaskService tasks;

    public PromotionController(PromotionService policies, TaskService tasks) {
        this.policies = policies;
        this.tasks = tasks;
    }

    /** {@code {"metric": "agreement", "min_score": 0.8, "eval_file": "file-...", "not_worse_than_current": true}}. */
    @Put(value = "/promotion", consumes = MediaType.ALL)
    public PromotionViews.PolicyView put(@RequestAttribute(AuthFilter.PROJECT) String project,
                                         @PathVariable String name, @Nullable @Body String body) {
        return view(name, policies.put(project, name, PromotionViews.Policy.parse(TaskRequests.body(body))));
    }

    @Get("/promotion")
    public PromotionViews.PolicyView get(@RequestAttribute(AuthFilter.PROJECT) String project,
                                         @PathVariable String name) {
        return view(name, policies.get(project, name));
    }

    /** Without a policy, a succeeded job's adapter takes over its task at once again. */
    @Delete("/promotion")
    public PolicyDeleted delete(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name) {
        policies.delete(project, name);
        return new PolicyDeleted("task.promotion", name, true);
    }

    /** {@code {"adapter": "name@version"}}: moves the task now, whatever its policy says. */
    @Post(value = "/promote", consumes = MediaType.ALL)
    public Promoted promote(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name,
                            @Nullable @Body String body) {
        var adapter = TaskRequests.body(body).path("adapter");
        if (!adapter.isTextual() || adapter.asText().isBlank()) {
            throw ApiException.invalid("adapter", "adapter is required: the adapter (name@version)"
                    + " the task should run on");
        }
        TaskVersion v = tasks.promote(project, name, adapter.asText(), null);
        return new Promoted("task.version", name, v.getRevision(), v.getAdapter(), v.getReason());
    }

    private static PromotionViews.PolicyView view(String task, PromotionPolicy p) {
        return new PromotionViews.PolicyView("task.promotion", task, p.getMetric(), p.getMinScore(), p.getEvalFile(),
                p.isNotWorse(), p.getUpdatedAt().getEpochSecond());
    }
}
