package dev.quiver.savings;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SavingsGaugesTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final SavingsGauges gauges = new SavingsGauges(registry);

    private static SavingsViews.Savings savings(String task, double smallP50, Double escalationRate) {
        SavingsViews.Side upstream = new SavingsViews.Side("gpt-x", 10, 0, new SavingsViews.Latency(800, 1200), 100,
                20, null, 0.02, 0.002, "price table");
        SavingsViews.Side small = new SavingsViews.Side("ft:qwen3", 10, 0, new SavingsViews.Latency(smallP50, 90),
                100, 20, null, 0.001, 0.0001, "serving time");
        return new SavingsViews.Savings("task.savings", task, 86400, 0, upstream, small, 1, escalationRate, 10.0,
                800 / smallP50, 0.0019, 0.57);
    }

    private Double value(String name, String task, String side) {
        Gauge g = registry.find(name).tags("project", "p", "task", task, "side", side).gauge();
        return g == null ? null : g.value();
    }

    @Test
    void aRefreshUpdatesTheFiguresInPlace() {
        gauges.publish("p", savings("triage", 50, null));
        gauges.publish("p", savings("triage", 40, 0.1));
        assertThat(value("quiver.task.savings.latency.p50", "triage", "small")).isEqualTo(40.0);
        assertThat(value("quiver.task.savings.latency.p50", "triage", "upstream")).isEqualTo(800.0);
        assertThat(value("quiver.task.savings.escalation.rate", "triage", "small")).isEqualTo(0.1);
        assertThat(registry.find("quiver.task.savings.latency.p50").gauges()).hasSize(2);
    }

    @Test
    void aFigureATaskHasNotIsNaN() {
        gauges.publish("p", savings("triage", 50, null));
        assertThat(value("quiver.task.savings.escalation.rate", "triage", "small")).isNaN();
    }

    @Test
    void theGaugesOfATaskNoLongerCurrentAreRemoved() {
        gauges.publish("p", savings("triage", 50, 0.0));
        gauges.publish("p", savings("extract", 60, 0.0));
        gauges.retainOnly(Set.of(new SavingsGauges.TaskKey("p", "extract")));
        assertThat(value("quiver.task.savings.latency.p50", "triage", "small")).isNull();
        assertThat(registry.find("quiver.task.savings.projected.monthly").tag("task", "triage").gauges()).isEmpty();
        assertThat(value("quiver.task.savings.latency.p50", "extract", "small")).isEqualTo(60.0);
        // a task that comes back gets its gauges again
        gauges.publish("p", savings("triage", 30, 0.0));
        assertThat(value("quiver.task.savings.latency.p50", "triage", "small")).isEqualTo(30.0);
    }
}
