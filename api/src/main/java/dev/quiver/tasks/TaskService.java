package dev.quiver.tasks;

import dev.quiver.http.ObjectIds;
import dev.quiver.jobs.FineTuningJob;
import dev.quiver.jobs.JobService;
import dev.quiver.jobs.JobStatus;
import dev.quiver.jobs.JobViews;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterService;
import dev.quiver.serving.BaseModel;
import dev.quiver.http.ApiException;
import io.micronaut.context.BeanProvider;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Tasks of a project: create (with an adapter, or together with the fine-tuning job that trains one),
 * update, delete, roll back, and the state that says whether a task can answer yet.
 */
@Singleton
public class TaskService {
    /** Whether a task answers: {@code ready}, {@code training} (its first job is not done) or {@code failed}. */
    public record State(String status, @Nullable String jobId, @Nullable JobStatus jobStatus,
                        @Nullable String jobError) {
        public boolean ready() {
            return status.equals("ready");
        }
    }

    private final TaskRepository tasks;
    private final TaskHistory history;
    private final JobService jobs;
    private final AdapterService adapters;
    private final BaseModel baseModel;
    private final List<TaskDeletionListener> deletionListeners;
    private final BeanProvider<TaskEscalation> escalation;

    /** {@code escalation} is looked up when needed: the upstream it calls belongs to a task of this service. */
    public TaskService(TaskRepository tasks, TaskHistory history, JobService jobs, AdapterService adapters,
                       BaseModel baseModel, List<TaskDeletionListener> deletionListeners,
                       BeanProvider<TaskEscalation> escalation) {
        this.escalation = escalation;
        this.deletionListeners = deletionListeners;
        this.tasks = tasks;
        this.history = history;
        this.jobs = jobs;
        this.adapters = adapters;
        this.baseModel = baseModel;
    }

    /**
     * Creates a task; with a training file, also the fine-tuning job that names it, in the same
     * transaction (a bad file fails both). The task answers once it has an adapter.
     */
    @Transactional
    public Task create(String projectId, TaskRequests.Create request) {
        if (tasks.findByProjectIdAndName(projectId, request.name()).isPresent()) {
            throw ApiException.conflict("a task named '" + request.name() + "' already exists; change it with PATCH"
                    + " /v1/tasks/" + request.name() + " or delete it first");
        }
        if (request.adapter() != null) {
            requireAdapter(projectId, request.adapter());
        }
        if (request.fallback() != null) {
            throw ApiException.invalid("fallback", "fallback escalates to the task's upstream, and a new task has none:"
                    + " create the task, set its upstream with PUT /v1/tasks/" + request.name() + "/upstream, then"
                    + " PATCH /v1/tasks/" + request.name() + " with the fallback");
        }
        Instant now = Instant.now();
        Task task = new Task(ObjectIds.next("task-", 10), projectId, request.name(), now);
        task.define(request.definition(), now);
        if (request.training() != null) {
            TaskRequests.Training t = request.training();
            FineTuningJob job = jobs.create(projectId, new JobViews.CreateJob(baseModel.name(), t.trainingFile(),
                    t.validationFile(), suffix(request.name()), t.seed(), request.name(), t.hyperparameters()));
            task.setTrainingJob(job.getId());
        }
        task = tasks.save(task);
        if (request.adapter() != null) {
            history.append(task, request.adapter(), null, TaskVersion.Reason.CREATED);
        }
        return task;
    }

    @ReadOnly
    public Task get(String projectId, String name) {
        return find(projectId, name).orElseThrow(() -> ApiException.notFound("task", name));
    }

    @ReadOnly
    public Optional<Task> find(String projectId, String name) {
        return tasks.findByProjectIdAndName(projectId, name);
    }

    @ReadOnly
    public List<Task> list(String projectId) {
        return tasks.findByProjectIdOrderByName(projectId);
    }

    /**
     * Replaces the definition (and the fallback, when given: only a task with an upstream can have one); a different
     * adapter becomes a new revision of the history.
     */
    @Transactional
    public Task update(String projectId, String name, TaskRequests.Update request) {
        Task task = get(projectId, name);
        task.define(request.definition(), Instant.now());
        if (request.fallbackGiven()) {
            if (request.fallback() != null && !(escalation.isPresent() && escalation.get().available(task))) {
                throw ApiException.invalid("fallback", "task '" + name + "' has no upstream to escalate to; set one"
                        + " with PUT /v1/tasks/" + name + "/upstream first");
            }
            task.setFallback(request.fallback(), Instant.now());
        }
        task = tasks.update(task);
        if (request.adapter() != null && !request.adapter().equals(task.getAdapter())) {
            requireAdapter(projectId, request.adapter());
            history.append(task, request.adapter(), null, TaskVersion.Reason.UPDATED);
        }
        return task;
    }

    /** Returns the task to the adapter it had before the active revision; 409 when there is none. */
    @Transactional
    public Task rollback(String projectId, String name) {
        Task task = get(projectId, name);
        TaskVersion target = history.previous(task).orElseThrow(() -> ApiException.conflict("task '" + name
                + "' has no earlier adapter to roll back to (its history: GET /v1/tasks/" + name + "/versions)"));
        if (!exists(projectId, target.getAdapter())) {
            throw ApiException.conflict("task '" + name + "' cannot roll back to revision " + target.getRevision()
                    + ": its adapter '" + target.getAdapter() + "' no longer exists");
        }
        history.rollBack(task, target);
        return task;
    }

    @ReadOnly
    public List<TaskVersion> versions(String projectId, String name) {
        return history.of(get(projectId, name));
    }

    /** Moves the task to {@code adapter} as a new revision, for the promotion gate or a manual promote. */
    @Transactional
    public TaskVersion promote(String projectId, String name, String adapter, @Nullable String sourceJob) {
        Task task = get(projectId, name);
        requireAdapter(projectId, adapter);
        return history.append(task, adapter, sourceJob, TaskVersion.Reason.PROMOTED);
    }

    /** Deletes the task, its history and what the data engine holds for it; jobs that name it keep their adapters. */
    @Transactional
    public Task delete(String projectId, String name) {
        Task task = get(projectId, name);
        deletionListeners.forEach(l -> l.onDeleted(task));
        history.forget(task);
        tasks.delete(task);
        return task;
    }

    /** Whether {@code task} can answer, and if not, why (its training job's state). */
    @ReadOnly
    public State state(Task task) {
        if (task.getAdapter() != null) {
            return new State("ready", task.getTrainingJob(), jobStatus(task), null);
        }
        FineTuningJob job = task.getTrainingJob() == null ? null : jobs.find(task.getTrainingJob()).orElse(null);
        if (job == null) {
            return new State("failed", task.getTrainingJob(), null, "the task has no adapter and no training job");
        }
        boolean failed = job.getStatus() == JobStatus.FAILED || job.getStatus() == JobStatus.CANCELLED;
        return new State(failed ? "failed" : "training", job.getId(), job.getStatus(), job.getErrorMessage());
    }

    /** The 503 (or 409, once the job has failed) for calling a task that has no adapter yet. */
    public TaskException notReady(Task task, State state) {
        Map<String, Object> job = state.jobId() == null ? Map.of() : Map.of("job", Map.of("id", state.jobId(),
                "status", state.jobStatus() == null ? "unknown" : state.jobStatus().wireName()));
        if (state.status().equals("training")) {
            return new TaskException(HttpStatus.SERVICE_UNAVAILABLE, "unavailable_error", "Task '" + task.getName()
                    + "' is not ready: its fine-tuning job " + state.jobId() + " is " + state.jobStatus().wireName()
                    + ". It answers once the job succeeds.", null, "task_not_ready", job);
        }
        return new TaskException(HttpStatus.CONFLICT, "invalid_request_error", "Task '" + task.getName()
                + "' has no adapter: its fine-tuning job " + state.jobId() + " did not succeed"
                + (state.jobError() == null ? "" : " (" + state.jobError() + ")") + ". Give it an adapter with"
                + " PATCH /v1/tasks/" + task.getName() + " or train again with POST /v1/fine_tuning/jobs and"
                + " \"task\": \"" + task.getName() + "\".", null, "task_training_failed", job);
    }

    /** The served model for a task's adapter reference: {@code name@version}, or the base model's name. */
    @ReadOnly
    public String resolveModel(Task task) {
        if (task.getAdapter().equals(baseModel.name())) {
            return baseModel.name();
        }
        AdapterRecord record = adapters.find(task.getProjectId(), task.getAdapter()).orElseThrow(() ->
                ApiException.conflict("task '" + task.getName() + "' uses adapter '" + task.getAdapter()
                        + "', which no longer exists; PATCH the task's adapter or roll it back"));
        return record.getName() + "@" + record.getVersion();
    }

    private void requireAdapter(String projectId, String reference) {
        if (!exists(projectId, reference)) {
            throw ApiException.invalid("adapter", "no adapter '" + reference + "' in this project (GET /v1/adapters"
                    + " lists them): use name@version to pin a version, name to follow its newest version, or the"
                    + " base model '" + baseModel.name() + "'");
        }
    }

    private boolean exists(String projectId, String reference) {
        return reference.equals(baseModel.name()) || adapters.find(projectId, reference).isPresent();
    }

    private JobStatus jobStatus(Task task) {
        return task.getTrainingJob() == null ? null
                : jobs.find(task.getTrainingJob()).map(FineTuningJob::getStatus).orElse(null);
    }

    private static String suffix(String name) {
        return name.substring(0, Math.min(name.length(), 40));
    }
}
