package dev.quiver.tasks;

import dev.quiver.jobs.FineTunedAdapterListener;
import dev.quiver.jobs.FineTuningJob;
import dev.quiver.registry.AdapterRecord;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.util.List;
import java.util.Optional;

/**
 * Moves a task to the adapter of a job that names it, in the transaction that registers the adapter and
 * marks the job succeeded: the task never points at an adapter whose job did not succeed. A
 * {@link TaskPromotionGate} may hold the move until the adapter's eval passes.
 */
@Singleton
public class TaskTrainingListener implements FineTunedAdapterListener {
    private final TaskRepository tasks;
    private final TaskHistory history;
    private final List<TaskPromotionGate> gates;

    public TaskTrainingListener(TaskRepository tasks, TaskHistory history, List<TaskPromotionGate> gates) {
        this.tasks = tasks;
        this.history = history;
        this.gates = gates;
    }

    @Override
    @Transactional
    public Optional<String> onFineTuned(FineTuningJob job, AdapterRecord adapter) {
        if (job.getTask() == null) {
            return Optional.empty();
        }
        String reference = adapter.getName() + "@" + adapter.getVersion();
        Optional<Task> task = tasks.findByProjectIdAndName(job.getProjectId(), job.getTask());
        if (task.isEmpty()) {
            return Optional.of("Task '" + job.getTask() + "' does not exist; no task moved to " + reference);
        }
        for (TaskPromotionGate gate : gates) {
            Optional<String> held = gate.hold(task.get(), job, reference);
            if (held.isPresent()) {
                return held;
            }
        }
        TaskVersion version = history.append(task.get(), reference, job.getId(), TaskVersion.Reason.FINE_TUNED);
        return Optional.of("Task '" + job.getTask() + "' now runs on " + reference + " (revision "
                + version.getRevision() + "; POST /v1/tasks/" + job.getTask() + "/rollback returns to the one before)");
    }
}
