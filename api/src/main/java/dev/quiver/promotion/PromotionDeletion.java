package dev.quiver.promotion;

import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;

/** Deletes a task's promotion policy with the task. */
@Singleton
public class PromotionDeletion implements TaskDeletionListener {
    private final PromotionPolicyRepository policies;

    public PromotionDeletion(PromotionPolicyRepository policies) {
        this.policies = policies;
    }

    @Override
    @Transactional
    public void onDeleted(Task task) {
        policies.deleteById(task.getId());
    }
}
