package dev.quiver.promotion;

import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskService;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.Optional;

/** A task's promotion policy: set, read, remove. */
@Singleton
public class PromotionService {
    private final PromotionPolicyRepository policies;
    private final TaskService tasks;

    public PromotionService(PromotionPolicyRepository policies, TaskService tasks) {
        this.policies = policies;
        this.tasks = tasks;
    }

    @Transactional
    public PromotionPolicy put(String projectId, String taskName, PromotionViews.Policy request) {
        Task task = tasks.get(projectId, taskName);
        Optional<PromotionPolicy> existing = policies.findById(task.getId());
        PromotionPolicy policy = existing.orElseGet(() -> new PromotionPolicy(task.getId()));
        policy.define(request, Instant.now());
        return existing.isPresent() ? policies.update(policy) : policies.save(policy);
    }

    @ReadOnly
    public PromotionPolicy get(String projectId, String taskName) {
        return policies.findById(tasks.get(projectId, taskName).getId()).orElseThrow(() -> ApiException.notFound(
                "promotion policy of task", taskName));
    }

    @Transactional
    public void delete(String projectId, String taskName) {
        policies.delete(get(projectId, taskName));
    }
}
