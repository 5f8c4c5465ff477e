package dev.quiver.capture;

import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.time.Duration;
import java.time.Instant;

/** Deletes captured calls older than their upstream's {@code retention_days}, hourly. */
@Singleton
public class CaptureRetention {
    private final UpstreamRepository upstreams;
    private final CapturedCallRepository calls;

    public CaptureRetention(UpstreamRepository upstreams, CapturedCallRepository calls) {
        this.upstreams = upstreams;
        this.calls = calls;
    }

    @Scheduled(fixedDelay = "1h", initialDelay = "1m")
    @Transactional
    public void sweep() {
        Instant now = Instant.now();
        for (Upstream u : upstreams.findAll()) {
            calls.deleteByTaskIdAndCreatedAtLessThan(u.getTaskId(), now.minus(Duration.ofDays(u.getRetentionDays())));
        }
    }
}
