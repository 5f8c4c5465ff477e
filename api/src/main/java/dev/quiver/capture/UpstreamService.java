package dev.quiver.capture;

import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskService;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.Optional;

/** A task's upstream: set, read and remove it; the key reference must resolve when it is set. */
@Singleton
public class UpstreamService {
    private final UpstreamRepository upstreams;
    private final CapturedCallRepository calls;
    private final TaskService tasks;
    private final SecretReference secrets;

    public UpstreamService(UpstreamRepository upstreams, CapturedCallRepository calls, TaskService tasks,
                           SecretReference secrets) {
        this.upstreams = upstreams;
        this.calls = calls;
        this.tasks = tasks;
        this.secrets = secrets;
    }

    @Transactional
    public Upstream put(String projectId, String taskName, UpstreamViews.Settings settings) {
        Task task = tasks.get(projectId, taskName);
        if (settings.apiKey() != null) {
            secrets.requireResolvable("api_key", settings.apiKey());
        }
        Optional<Upstream> existing = upstreams.findById(task.getId());
        Upstream upstream = existing.orElseGet(() -> new Upstream(task.getId(), projectId));
        upstream.define(settings, Instant.now());
        return existing.isPresent() ? upstreams.update(upstream) : upstreams.save(upstream);
    }

    @ReadOnly
    public Upstream get(String projectId, String taskName) {
        return find(tasks.get(projectId, taskName)).orElseThrow(() -> ApiException.invalid("upstream", "task '"
                + taskName + "' has no upstream; set one with PUT /v1/tasks/" + taskName + "/upstream {\"base_url\":"
                + " ..., \"model\": ..., \"api_key\": \"env:NAME\"}"));
    }

    @ReadOnly
    public Optional<Upstream> find(Task task) {
        return upstreams.findById(task.getId());
    }

    @ReadOnly
    public long count(Upstream upstream, String side) {
        return calls.countByTaskIdAndSide(upstream.getTaskId(), side);
    }

    /**
     * Removes the upstream; what it captured stays until the task is deleted or the retention ends. A task whose
     * fallback escalates to it keeps it (409) until the fallback is removed.
     */
    @Transactional
    public void delete(String projectId, String taskName) {
        Upstream upstream = get(projectId, taskName);
        if (tasks.get(projectId, taskName).getFallback() != null) {
            throw ApiException.conflict("task '" + taskName + "' escalates to this upstream (its fallback); remove"
                    + " the fallback first with PATCH /v1/tasks/" + taskName + " {\"fallback\": null}");
        }
        upstreams.delete(upstream);
    }
}
