package dev.quiver.evals;

import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;

/** Deletes a task's evals with the task. */
@Singleton
public class EvalDeletion implements TaskDeletionListener {
    private final EvalService evals;

    public EvalDeletion(EvalService evals) {
        this.evals = evals;
    }

    @Override
    public void onDeleted(Task task) {
        evals.forget(task);
    }
}
