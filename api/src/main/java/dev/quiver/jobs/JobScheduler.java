package dev.quiver.jobs;

import dev.quiver.server.Hashes;
import dev.quiver.server.QuiverServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles jobs with their runners and starts queued jobs within the concurrency limit. Each tick
 * is safe to run twice and after a restart: a running job whose runner is gone, or has stalled ({@link StalledJobs};
 * its runner is stopped first), is re-queued (it resumes from its last checkpoint) until its attempts are used up,
 * then failed with the reason. Stopping
 * leaves running runners alone: after the restart the first tick adopts or re-queues them, as after a crash.
 */
@Singleton
@Requires(property = "quiver.jobs.scheduler.enabled", notEquals = "false")
public class JobScheduler {
    private static final Logger LOG = LoggerFactory.getLogger(JobScheduler.class);

    private final JobService jobs;
    private final Launcher launcher;
    private final StalledJobs stalled;
    private final ApplicationContext context;
    private final int maxConcurrent;
    private final int maxAttempts;
    private final SecureRandom random = new SecureRandom();
    /** Set once the context closes; guarded by this, like every tick. */
    private boolean stopped;

    public JobScheduler(JobService jobs, Launcher launcher, StalledJobs stalled, ApplicationContext context,
                        MeterRegistry metrics, @Value("${quiver.jobs.max-concurrent:1}") int maxConcurrent,
                        @Value("${quiver.jobs.max-attempts:3}") int maxAttempts) {
        this.jobs = jobs;
        this.launcher = launcher;
        this.stalled = stalled;
        this.context = context;
        this.maxConcurrent = maxConcurrent;
        this.maxAttempts = maxAttempts;
        for (JobStatus s : JobStatus.values()) {
            Gauge.builder("quiver.jobs", () -> jobs.count(s)).tag("status", s.wireName())
                    .description("fine-tuning jobs by status").register(metrics);
        }
        Gauge.builder("quiver.jobs.queue.length", () -> jobs.count(JobStatus.QUEUED))
                .description("jobs waiting for a runner").register(metrics);
    }

    @Scheduled(fixedDelay = "${quiver.jobs.poll-interval:1s}", initialDelay = "1s")
    public synchronized void tick() {
        if (stopped) {
            return;
        }
        try {
            reconcile();
            launchQueued();
        } catch (RuntimeException e) {
            LOG.warn("job scheduler tick failed: {}", e.getMessage(), e);
        }
    }

    /**
     * Waits for a running tick and turns later ones into no-ops. Micronaut destroys this bean before the
     * database it uses, so no tick can reach a closed EntityManagerFactory, whatever the executor still runs.
     */
    @PreDestroy
    public synchronized void stop() {
        stopped = true;
    }

    private void reconcile() {
        for (FineTuningJob job : jobs.running()) {
            if (job.getLauncherRef() == null) {
                continue;
            }
            if (!launcher.isAlive(job.getLauncherRef())) {
                // the runner reports its own end; a runner gone without a word died (killed, OOM, restart)
                lost(job, launcher.failureReason(job.getLauncherRef()).map(r -> "The training process failed: " + r)
                        .orElse(null));
                continue;
            }
            Optional<String> stall = stalled.reason(job, Instant.now());
            if (stall.isPresent()) {
                LOG.warn("job {}: {}; stopping its runner {}", job.getId(), stall.get(), job.getLauncherRef());
                launcher.cancel(job.getLauncherRef());
                lost(job, "Stopped the training process: " + stall.get());
            }
        }
    }

    /** Re-queues a running job whose runner is gone, or fails it once its attempts are used up. */
    private void lost(FineTuningJob job, String reason) {
        FineTuningJob fresh = jobs.find(job.getId()).orElse(job);
        if (fresh.getStatus() != JobStatus.RUNNING) {
            return;
        }
        if (fresh.getAttempt() >= maxAttempts) {
            jobs.fail(job.getId(), "runner_lost", reason != null
                    ? "the training process failed " + fresh.getAttempt() + " times; last: " + reason
                    : "the training process exited without reporting a result, " + fresh.getAttempt()
                            + " times; see the runner log under the data dir's jobs/" + job.getId());
        } else {
            jobs.requeue(job.getId(), reason != null ? reason
                    : "The training process exited without reporting a result");
        }
    }

    private void launchQueued() {
        long running = jobs.count(JobStatus.RUNNING);
        for (FineTuningJob job : jobs.queued()) {
            if (running >= maxConcurrent) {
                return;
            }
            byte[] secret = new byte[24];
            random.nextBytes(secret);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
            if (!jobs.claim(job.getId(), Hashes.sha256(token))) {
                continue;
            }
            running++;
            FineTuningJob claimed = jobs.find(job.getId()).orElseThrow();
            try {
                String ref = launcher.launch(new Launcher.LaunchRequest(job.getId(), claimed.getAttempt(), token,
                        QuiverServer.url(context)));
                jobs.setLauncherRef(job.getId(), ref);
            } catch (Exception e) {
                jobs.fail(job.getId(), "launch_failed", "could not start the training process: " + e.getMessage());
            }
        }
    }
}
