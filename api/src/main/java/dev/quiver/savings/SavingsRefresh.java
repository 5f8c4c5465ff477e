package dev.quiver.savings;

import dev.quiver.capture.Upstream;
import dev.quiver.capture.UpstreamRepository;
import dev.quiver.tasks.TaskRepository;
import io.micronaut.context.annotation.Value;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the savings gauges current: every {@code quiver.savings.refresh-interval} (1 min) the savings of every task
 * with an upstream over {@code quiver.savings.metrics-window} (1 day) become its Prometheus gauges, whether or not
 * anyone reads {@code /savings}; the gauges of tasks deleted or without an upstream since are removed.
 */
@Singleton
public class SavingsRefresh {
    private static final Logger LOG = LoggerFactory.getLogger(SavingsRefresh.class);

    private final UpstreamRepository upstreams;
    private final TaskRepository tasks;
    private final SavingsService savings;
    private final SavingsGauges gauges;
    private final Duration window;

    public SavingsRefresh(UpstreamRepository upstreams, TaskRepository tasks, SavingsService savings,
                          SavingsGauges gauges, @Value("${quiver.savings.metrics-window:1d}") Duration window) {
        this.upstreams = upstreams;
        this.tasks = tasks;
        this.savings = savings;
        this.gauges = gauges;
        this.window = window;
    }

    @Scheduled(fixedDelay = "${quiver.savings.refresh-interval:1m}", initialDelay = "${quiver.savings.refresh-interval:1m}")
    void refresh() {
        Set<SavingsGauges.TaskKey> current = new HashSet<>();
        for (Upstream u : upstreams.findAll()) {
            tasks.findById(u.getTaskId()).ifPresent(t -> {
                current.add(new SavingsGauges.TaskKey(t.getProjectId(), t.getName()));
                try {
                    gauges.publish(t.getProjectId(), savings.savings(t.getProjectId(), t.getName(), window));
                } catch (RuntimeException e) {
                    // deleted meanwhile (its gauges go at the next refresh), or a transient failure: they keep
                    // their last figures until then
                    LOG.debug("savings of task {} not refreshed: {}", t.getName(), e.getMessage());
                }
            });
        }
        gauges.retainOnly(current); // tasks deleted, or without an upstream now
    }
}
