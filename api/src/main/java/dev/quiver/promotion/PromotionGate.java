package dev.quiver.promotion;

import dev.quiver.jobs.FineTuningJob;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskPromotionGate;
import io.micronaut.context.event.ApplicationEventPublisher;
import jakarta.inject.Singleton;
import java.util.Optional;

/**
 * Holds the move of a task with a promotion policy to its job's new adapter: the request is published in
 * the job's success transaction and judged by {@link PromotionJudge} once that commits (the adapter must be
 * registered before it can be served for its eval).
 */
@Singleton
public class PromotionGate implements TaskPromotionGate {
    private final PromotionPolicyRepository policies;
    private final ApplicationEventPublisher<PromotionRequested> publisher;

    public PromotionGate(PromotionPolicyRepository policies, ApplicationEventPublisher<PromotionRequested> publisher) {
        this.policies = policies;
        this.publisher = publisher;
    }

    @Override
    public Optional<String> hold(Task task, FineTuningJob job, String adapter) {
        return policies.findById(task.getId()).map(policy -> {
            publisher.publishEvent(new PromotionRequested(task.getProjectId(), task.getName(), job.getId(), adapter));
            return "Task '" + task.getName() + "' keeps " + (task.getAdapter() == null ? "no adapter" : task.getAdapter())
                    + " until " + adapter + " (or the job's best checkpoint, where its checkpoints are evaluated)"
                    + " passes its promotion policy (" + policy.getMetric() + " >= "
                    + policy.getMinScore() + " on " + policy.getEvalFile()
                    + (policy.isNotWorse() ? ", and not worse than the current adapter" : "") + "); evaluating";
        });
    }
}
