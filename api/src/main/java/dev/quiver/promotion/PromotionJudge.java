package dev.quiver.promotion;

import dev.quiver.evals.Eval;
import dev.quiver.evals.EvalRunner;
import dev.quiver.evals.EvalService;
import dev.quiver.evals.EvalViews;
import dev.quiver.http.ApiException;
import dev.quiver.jobs.JobService;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskService;
import dev.quiver.tasks.TaskVersion;
import io.micronaut.transaction.annotation.TransactionalEventListener;
import jakarta.annotation.PreDestroy;
import dev.quiver.server.Background;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Judges a held promotion after the job's success commits: the candidate is the job's best checkpoint when its
 * checkpoints were evaluated ({@link CheckpointEvals}), else its final adapter; evaluates it on the policy's file
 * (and the current adapter, unless either has an eval there already), moves the task only when the policy
 * passes, and writes the verdict with both scores to the job's events.
 */
@Singleton
public class PromotionJudge {
    private static final Logger LOG = LoggerFactory.getLogger(PromotionJudge.class);

    private final TaskService tasks;
    private final PromotionPolicyRepository policies;
    private final EvalService evals;
    private final EvalRunner runner;
    private final JobService jobs;
    private final CheckpointEvals checkpoints;
    private final ExecutorService executor = Background.singleThread("quiver-promotion");

    public PromotionJudge(TaskService tasks, PromotionPolicyRepository policies, EvalService evals, EvalRunner runner,
                          JobService jobs, CheckpointEvals checkpoints) {
        this.checkpoints = checkpoints;
        this.tasks = tasks;
        this.policies = policies;
        this.evals = evals;
        this.runner = runner;
        this.jobs = jobs;
    }

    @TransactionalEventListener
    void onRequested(PromotionRequested request) {
        executor.submit(() -> {
            try {
                judge(request);
            } catch (RuntimeException e) {
                LOG.warn("promotion of {} for task {} failed", request.adapter(), request.task(), e);
                jobs.event(request.jobId(), "error", "message", "Task '" + request.task() + "' was not moved to "
                        + request.adapter() + ": the promotion check failed (" + e.getMessage() + ")", null);
            }
        });
    }

    private void judge(PromotionRequested r) {
        Task task = tasks.get(r.projectId(), r.task());
        PromotionPolicy policy = policies.findById(task.getId()).orElse(null);
        if (policy == null) {
            TaskVersion v = tasks.promote(r.projectId(), r.task(), r.adapter(), r.jobId());
            jobs.event(r.jobId(), "info", "message", "Task '" + r.task() + "' now runs on " + r.adapter()
                    + " (revision " + v.getRevision() + "; its promotion policy was removed meanwhile)", null);
            return;
        }
        String metric = policy.getMetric();
        Optional<CheckpointEvals.Best> best = checkpoints.best(r.jobId(), r.adapter());
        String adapter = best.map(CheckpointEvals.Best::model).orElse(r.adapter());
        String which = best.filter(b -> !b.finalAdapter()).map(b -> adapter + " (the job's best checkpoint, step "
                + b.step() + ")").orElse(adapter);
        Eval candidate = evals.latest(task.getId(), adapter, policy.getEvalFile())
                .orElseGet(() -> evaluate(r, task, adapter, policy.getEvalFile()));
        if (!Eval.SUCCEEDED.equals(candidate.getStatus())) {
            jobs.event(r.jobId(), "warn", "message", "Task '" + r.task() + "' was not moved to " + which
                    + ": its eval " + candidate.getId() + " failed (" + candidate.getError() + ")", null);
            return;
        }
        double score = EvalService.score(candidate, metric);
        String current = currentModel(task).orElse(null);
        Double currentScore = null;
        Eval currentEval = null;
        if (policy.isNotWorse() && current != null) {
            currentEval = evals.latest(task.getId(), current, policy.getEvalFile())
                    .orElseGet(() -> evaluate(r, task, current, policy.getEvalFile()));
            currentScore = Eval.SUCCEEDED.equals(currentEval.getStatus()) ? EvalService.score(currentEval, metric) : null;
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("metric", metric);
        data.put("min_score", policy.getMinScore());
        data.put("candidate", Map.of("model", adapter, "eval", candidate.getId(), "score", score));
        best.ifPresent(b -> data.put("best_checkpoint", b.view()));
        if (currentEval != null) {
            data.put("current", Map.of("model", current, "eval", currentEval.getId(),
                    "score", currentScore == null ? "unknown" : currentScore));
        }
        String scores = metric + " " + fmt(score) + " on " + policy.getEvalFile() + " (min_score " + fmt(
                policy.getMinScore()) + (currentScore == null ? "" : "; current " + current + ": " + fmt(currentScore))
                + ")";
        boolean passes = score >= policy.getMinScore() && (currentScore == null || score >= currentScore);
        if (passes) {
            TaskVersion v = tasks.promote(r.projectId(), r.task(), adapter, r.jobId());
            jobs.event(r.jobId(), "info", "message", "Task '" + r.task() + "' now runs on " + which
                    + " (revision " + v.getRevision() + "): it passed its promotion policy with " + scores
                    + "; POST /v1/tasks/" + r.task() + "/rollback returns to the one before", data);
        } else {
            String why = score < policy.getMinScore() ? "below min_score" : "worse than the current adapter";
            jobs.event(r.jobId(), "warn", "message", "Task '" + r.task() + "' keeps " + (current == null
                    ? "no adapter" : current) + ": " + which + " was not promoted, " + why + ": " + scores
                    + ". Promote it anyway with POST /v1/tasks/" + r.task() + "/promote", data);
        }
    }

    private Eval evaluate(PromotionRequested r, Task task, String model, String file) {
        Eval eval = evals.create(r.projectId(), new EvalViews.Create(task.getName(), model, file), r.jobId());
        jobs.event(r.jobId(), "info", "message", "Evaluating " + model + " for task '" + task.getName() + "' on "
                + file + " (eval " + eval.getId() + ")", null);
        return runner.run(eval.getId());
    }

    private Optional<String> currentModel(Task task) {
        if (task.getAdapter() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(tasks.resolveModel(task));
        } catch (ApiException e) {
            return Optional.empty(); // the current adapter is gone: nothing to be worse than
        }
    }


    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.3f", v);
    }

    @PreDestroy
    void stop() {
        executor.shutdownNow();
    }
}
