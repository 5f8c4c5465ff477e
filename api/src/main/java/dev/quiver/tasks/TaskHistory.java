package dev.quiver.tasks;

import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A task's adapter history: every move appends a revision and makes it active; a rollback marks the
 * active revision rolled back and reactivates the newest earlier one that is not. Nothing is deleted, so
 * the history shows every adapter the task has answered with.
 */
@Singleton
public class TaskHistory {
    private final TaskRepository tasks;
    private final TaskVersionRepository versions;

    public TaskHistory(TaskRepository tasks, TaskVersionRepository versions) {
        this.tasks = tasks;
        this.versions = versions;
    }

    /** Moves {@code task} to {@code adapter} as a new active revision, in the caller's transaction. */
    @Transactional
    public TaskVersion append(Task task, String adapter, @Nullable String sourceJob, TaskVersion.Reason reason) {
        Instant now = Instant.now();
        int revision = versions.findByTaskIdOrderByRevision(task.getId()).stream()
                .mapToInt(TaskVersion::getRevision).max().orElse(0) + 1;
        TaskVersion version = versions.save(new TaskVersion(task.getId(), revision, adapter, sourceJob, reason,
                now));
        task.moveTo(adapter, revision, now);
        tasks.update(task);
        return version;
    }

    /** The revision to return to from the active one, if any. */
    public Optional<TaskVersion> previous(Task task) {
        return versions.findByTaskIdOrderByRevision(task.getId()).stream()
                .filter(v -> v.getRevision() < task.getRevision() && !v.isRolledBack())
                .max(Comparator.comparingInt(TaskVersion::getRevision));
    }

    /** Marks the active revision rolled back and reactivates {@code target} (from {@link #previous}). */
    @Transactional
    public void rollBack(Task task, TaskVersion target) {
        Instant now = Instant.now();
        versions.findByTaskIdOrderByRevision(task.getId()).stream()
                .filter(v -> v.getRevision() == task.getRevision())
                .findFirst()
                .ifPresent(active -> {
                    active.rollBack(now);
                    versions.update(active);
                });
        task.moveTo(target.getAdapter(), target.getRevision(), now);
        tasks.update(task);
    }

    public List<TaskVersion> of(Task task) {
        return versions.findByTaskIdOrderByRevision(task.getId());
    }

    @Transactional
    public void forget(Task task) {
        versions.deleteByTaskId(task.getId());
    }
}
