package dev.quiver.savings;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The savings figures of each task with an upstream as Prometheus gauges ({@code quiver_task_savings_*}, tagged
 * {@code project}, {@code task} and {@code side}), set by {@link SavingsRefresh}; a task that is gone or no longer
 * has an upstream loses its gauges rather than reporting its last figures forever.
 */
@Singleton
public class SavingsGauges {
    /** A task's identity in the gauges' tags. */
    public record TaskKey(String project, String task) {
    }

    /** One gauge: a figure of a task's side. */
    private record Key(TaskKey task, String name, String side) {
    }

    private record Published(AtomicReference<Double> value, Gauge gauge) {
    }

    private final MeterRegistry registry;
    private final Map<Key, Published> gauges = new ConcurrentHashMap<>();

    public SavingsGauges(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Sets the gauges of {@code s}'s task in {@code project} to its figures (NaN for a figure it has not). */
    public void publish(String project, SavingsViews.Savings s) {
        TaskKey task = new TaskKey(project, s.task());
        gauge("quiver.task.savings.latency.p50", task, "upstream", s.upstream().latencyMs().p50());
        gauge("quiver.task.savings.latency.p50", task, "small", s.small().latencyMs().p50());
        gauge("quiver.task.savings.cost.per.call", task, "upstream", s.upstream().costPerCallUsd());
        gauge("quiver.task.savings.cost.per.call", task, "small", s.small().costPerCallUsd());
        gauge("quiver.task.savings.projected.monthly", task, "both", s.projectedMonthlySavingUsd());
        gauge("quiver.task.savings.escalation.rate", task, "small", s.escalationRate());
    }

    /** Removes the gauges of every task not in {@code current}. */
    public void retainOnly(Set<TaskKey> current) {
        gauges.entrySet().removeIf(e -> {
            if (current.contains(e.getKey().task())) {
                return false;
            }
            registry.remove(e.getValue().gauge());
            return true;
        });
    }

    private void gauge(String name, TaskKey task, String side, Double value) {
        gauges.computeIfAbsent(new Key(task, name, side), k -> {
            AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
            Gauge gauge = Gauge.builder(name, ref, r -> r.get())
                    .tags(Tags.of("project", task.project(), "task", task.task(), "side", side))
                    .description("the task's last computed savings figure").strongReference(true).register(registry);
            return new Published(ref, gauge);
        }).value().set(value == null ? Double.NaN : value);
    }
}
