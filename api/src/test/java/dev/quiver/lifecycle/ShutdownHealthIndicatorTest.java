package dev.quiver.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthResult;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

class ShutdownHealthIndicatorTest {
    private final ShutdownHealthIndicator indicator = new ShutdownHealthIndicator();

    @Test
    void readyUntilShutdownBegins() {
        assertThat(status()).isEqualTo(HealthStatus.UP);
    }

    @Test
    void downOnceShutdownBegan() {
        indicator.shutdownBegan();

        assertThat(status()).isEqualTo(HealthStatus.DOWN);
        assertThat(status()).as("stays down").isEqualTo(HealthStatus.DOWN);
    }

    private HealthStatus status() {
        HealthResult result = Mono.from(indicator.getResult()).block();
        assertThat(result.getName()).isEqualTo("shutdown");
        return result.getStatus();
    }
}
