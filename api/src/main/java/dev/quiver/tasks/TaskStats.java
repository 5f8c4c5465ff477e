package dev.quiver.tasks;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Per-task call statistics as Micrometer meters, so Prometheus scrapes the same numbers that
 * {@code GET /v1/tasks/{name}/stats} shows: {@code quiver_task_calls_total},
 * {@code quiver_task_errors_total{code}}, {@code quiver_task_tokens_total{direction="in"|"out"}} and
 * {@code quiver_task_latency_seconds} with its p50 and p99, {@code quiver_task_escalations_total{reason}} (calls
 * the task's fallback escalated to its upstream), all tagged with project and task. Counts are
 * since the server started; the percentiles cover the last few minutes.
 */
@Singleton
public class TaskStats {
    /** One task's numbers; latencies in milliseconds. */
    public record Snapshot(long calls, long errors, Map<String, Long> errorsByCode, long tokensIn, long tokensOut,
                           double latencyP50Ms, double latencyP99Ms, double latencyMeanMs, long escalations,
                           Map<String, Long> escalationsByReason) {
    }

    private static final String CALLS = "quiver.task.calls";
    private static final String ERRORS = "quiver.task.errors";
    private static final String TOKENS = "quiver.task.tokens";
    private static final String LATENCY = "quiver.task.latency";
    private static final String ESCALATIONS = "quiver.task.escalations";
    private static final Duration PERCENTILE_WINDOW = Duration.ofMinutes(10);

    private final MeterRegistry registry;

    public TaskStats(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Records one call; {@code errorCode} is null for a success. */
    public void record(String project, String task, long nanos, int tokensIn, int tokensOut,
                       @Nullable String errorCode) {
        Tags tags = tags(project, task);
        Counter.builder(CALLS).tags(tags).description("task invocations").register(registry).increment();
        latency(tags).record(nanos, TimeUnit.NANOSECONDS);
        Counter.builder(TOKENS).tags(tags).tag("direction", "in").description("prompt tokens of task calls")
                .register(registry).increment(tokensIn);
        Counter.builder(TOKENS).tags(tags).tag("direction", "out").description("completion tokens of task calls")
                .register(registry).increment(tokensOut);
        if (errorCode != null) {
            Counter.builder(ERRORS).tags(tags).tag("code", errorCode).description("failed task invocations")
                    .register(registry).increment();
        }
    }

    /** Counts a call the task's fallback escalated to its upstream, by {@code reason}. */
    public void escalated(String project, String task, String reason) {
        Counter.builder(ESCALATIONS).tags(tags(project, task)).tag("reason", reason)
                .description("task calls escalated to the task's upstream by its fallback").register(registry)
                .increment();
    }

    public Snapshot snapshot(String project, String task) {
        Tags tags = tags(project, task);
        Map<String, Long> byCode = new TreeMap<>();
        for (Counter c : registry.find(ERRORS).tags(tags).counters()) {
            byCode.merge(c.getId().getTag("code"), (long) c.count(), Long::sum);
        }
        Map<String, Long> byReason = new TreeMap<>();
        for (Counter c : registry.find(ESCALATIONS).tags(tags).counters()) {
            byReason.merge(c.getId().getTag("reason"), (long) c.count(), Long::sum);
        }
        Timer timer = registry.find(LATENCY).tags(tags).timer();
        double p50 = 0;
        double p99 = 0;
        if (timer != null) {
            for (ValueAtPercentile v : timer.takeSnapshot().percentileValues()) {
                if (v.percentile() == 0.5) {
                    p50 = v.value(TimeUnit.MILLISECONDS);
                } else if (v.percentile() == 0.99) {
                    p99 = v.value(TimeUnit.MILLISECONDS);
                }
            }
        }
        return new Snapshot(count(CALLS, tags), byCode.values().stream().mapToLong(Long::longValue).sum(), byCode,
                count(TOKENS, tags.and("direction", "in")), count(TOKENS, tags.and("direction", "out")), p50, p99,
                timer == null ? 0 : timer.mean(TimeUnit.MILLISECONDS),
                byReason.values().stream().mapToLong(Long::longValue).sum(), byReason);
    }

    /** Drops a deleted task's meters, so a new task of the same name starts from zero. */
    public void forget(String project, String task) {
        for (String name : List.of(CALLS, ERRORS, TOKENS, LATENCY, ESCALATIONS)) {
            for (Meter m : registry.find(name).tags(tags(project, task)).meters()) {
                registry.remove(m);
            }
        }
    }

    private Timer latency(Tags tags) {
        return Timer.builder(LATENCY).tags(tags).description("task invocation latency, end to end")
                .publishPercentiles(0.5, 0.99)
                .distributionStatisticExpiry(PERCENTILE_WINDOW)
                .register(registry);
    }

    private long count(String name, Tags tags) {
        return (long) registry.find(name).tags(tags).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static Tags tags(String project, String task) {
        return Tags.of("project", project, "task", task);
    }
}
