package dev.quiver.tasks;

/** Deletes what belongs to a task (captured calls, datasets, evals, policies) in the transaction that deletes it. */
public interface TaskDeletionListener {

    void onDeleted(Task task);
}
