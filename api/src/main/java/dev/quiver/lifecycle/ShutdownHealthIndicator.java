package dev.quiver.lifecycle;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Readiness DOWN from the moment shutdown begins. Marked before the context starts closing, so load
 * balancers polling {@code /health/readiness} see DOWN before the server stops accepting connections
 * (Micronaut's own graceful-shutdown indicator flips in the same pass that closes the listeners).
 */
@Singleton
@Readiness
public class ShutdownHealthIndicator implements HealthIndicator {
    private volatile boolean shuttingDown;

    /** Reports DOWN from now on. */
    public void shutdownBegan() {
        shuttingDown = true;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Mono.just(HealthResult.builder("shutdown", shuttingDown ? HealthStatus.DOWN : HealthStatus.UP).build());
    }
}
