package dev.quiver.jobs;

import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Tells a running job whose runner has gone quiet: no event, checkpoint or heartbeat for longer than
 * {@code quiver.jobs.stall-timeout} (runners heartbeat every 10 s by default). Its process may live, but it makes
 * no progress the control plane can see, so the scheduler stops it and re-queues or fails the job.
 */
@Singleton
public class StalledJobs {
    private final Duration timeout;

    public StalledJobs(@Value("${quiver.jobs.stall-timeout:5m}") Duration timeout) {
        this.timeout = timeout;
    }

    /** Why {@code job} counts as stalled at {@code now}; empty while its runner reports, or before it first called. */
    public Optional<String> reason(FineTuningJob job, Instant now) {
        Instant heard = job.getHeartbeatAt();
        if (heard == null) {
            return Optional.empty();
        }
        Duration quiet = Duration.between(heard, now);
        if (quiet.compareTo(timeout) <= 0) {
            return Optional.empty();
        }
        return Optional.of("the training process reported no progress for " + quiet.toSeconds()
                + " s (quiver.jobs.stall-timeout is " + timeout.toSeconds() + " s)");
    }
}
