package dev.quiver.evals;

import dev.quiver.http.ObjectIds;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDefinition;
import dev.quiver.tasks.TaskService;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Eval records: create (checked before anything runs), read, log, finish, and the latest score of a model. */
@Singleton
public class EvalService {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EvalRepository evals;
    private final EvalEventRepository events;
    private final TaskService tasks;
    private final EvalFile files;
    private final ModelCaller models;

    public EvalService(EvalRepository evals, EvalEventRepository events, TaskService tasks, EvalFile files,
                       ModelCaller models) {
        this.evals = evals;
        this.events = events;
        this.tasks = tasks;
        this.files = files;
        this.models = models;
    }

    /** Checks the task, model and file (every bad line of it) and queues the eval; {@code jobId} for a gate's eval. */
    @Transactional
    public Eval create(String projectId, EvalViews.Create request, @Nullable String jobId) {
        Task task;
        try {
            task = tasks.get(projectId, request.task());
        } catch (ApiException e) {
            throw ApiException.invalid("task", "no task '" + request.task() + "' in this project");
        }
        models.requireCallable(task, request.model());
        int examples = files.read(projectId, request.file(), TaskDefinition.of(task).outputSchema()).size();
        Eval eval = evals.save(new Eval(ObjectIds.next("eval-", 10), projectId, task.getId(),
                request.model(), request.file(), jobId, examples, Instant.now()));
        event(eval.getId(), "info", "Eval of " + request.model() + " on task '" + task.getName() + "' over "
                + examples + " examples of " + request.file() + " queued");
        return eval;
    }

    @ReadOnly
    public Eval get(String projectId, String id) {
        return evals.findByIdAndProjectId(id, projectId).orElseThrow(() -> ApiException.notFound("eval", id));
    }

    @ReadOnly
    public List<Eval> list(String projectId, @Nullable String taskName) {
        return taskName == null ? evals.findByProjectIdOrderByCreatedAtDesc(projectId)
                : evals.findByTaskIdOrderByCreatedAtDesc(tasks.get(projectId, taskName).getId());
    }

    @ReadOnly
    public List<EvalEvent> events(String projectId, String id) {
        return events.findByEvalIdOrderById(get(projectId, id).getId());
    }

    /** The newest succeeded eval of {@code model} for the task on {@code fileId}. */
    @ReadOnly
    public Optional<Eval> latest(String taskId, String model, String fileId) {
        return evals.findFirstByTaskIdAndModelAndFileIdAndStatusOrderByCreatedAtDesc(taskId, model, fileId,
                Eval.SUCCEEDED);
    }

    @Transactional
    public Eval start(String id) {
        Eval eval = evals.findById(id).orElseThrow();
        eval.start();
        event(id, "info", "Eval started");
        return evals.update(eval);
    }

    @Transactional
    public Eval succeed(String id, Map<String, Object> metrics) {
        Eval eval = evals.findById(id).orElseThrow();
        eval.succeed(write(metrics), Instant.now());
        event(id, "info", "Eval succeeded: exact_match " + metrics.get("exact_match") + ", agreement "
                + metrics.get("agreement") + ", schema_validity " + metrics.get("schema_validity"));
        return evals.update(eval);
    }

    @Transactional
    public Eval fail(String id, String error) {
        Eval eval = evals.findById(id).orElseThrow();
        eval.fail(error, Instant.now());
        event(id, "error", "Eval failed: " + error);
        return evals.update(eval);
    }

    @Transactional
    public void event(String evalId, String level, String message) {
        events.save(new EvalEvent(evalId, Instant.now(), level, message));
    }

    /** The metrics of a succeeded eval. */
    public static Map<String, Object> metrics(Eval eval) {
        if (eval.getMetrics() == null) {
            return null;
        }
        try {
            return JSON.readValue(eval.getMetrics(), new TypeReference<LinkedHashMap<String, Object>>() {
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("eval " + eval.getId() + " has unreadable metrics", e);
        }
    }

    /** A succeeded eval's score on {@code metric} (0 for a metric it has no number for). */
    public static double score(Eval eval, String metric) {
        Object v = metrics(eval).get(metric);
        return v instanceof Number n ? n.doubleValue() : 0;
    }

    private static String write(Map<String, Object> metrics) {
        try {
            return JSON.writeValueAsString(metrics);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
