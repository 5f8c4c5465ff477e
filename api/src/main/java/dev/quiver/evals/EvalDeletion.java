package dev.quiver.evals;

import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;

/** Deletes a task's evals and their logs with the task. */
@Singleton
public class EvalDeletion implements TaskDeletionListener {
    private final EvalRepository evals;
    private final EvalEventRepository events;

    public EvalDeletion(EvalRepository evals, EvalEventRepository events) {
        this.evals = evals;
        this.events = events;
    }

    @Override
    @Transactional
    public void onDeleted(Task task) {
        for (Eval eval : evals.findByTaskIdOrderByCreatedAtDesc(task.getId())) {
            events.deleteByEvalId(eval.getId());
        }
        evals.deleteByTaskId(task.getId());
    }
}
