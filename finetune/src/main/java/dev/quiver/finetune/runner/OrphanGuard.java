package dev.quiver.finetune.runner;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Ends a runner that has lost its job's owner, so that it never trains on as an orphan: once its parent process
 * is gone (checked every {@code pollInterval}; the local launcher's server) or {@link #orphaned} is called (the
 * control plane stopped answering), training is asked to stop at its next step, and if the process is still
 * there {@code grace} later it is halted. So an orphan exits within pollInterval + grace of its parent's death.
 */
public final class OrphanGuard implements AutoCloseable {
    /** The runner's exit code when it stopped because it was orphaned. */
    public static final int EXIT_ORPHANED = 3;

    private final Duration grace;
    private final Runnable stopTraining;
    private final IntConsumer halt;
    private final PrintWriter log;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "quiver-orphan-guard");
        t.setDaemon(true);
        return t;
    });
    /** Guarded by this. */
    private String reason;

    /**
     * @param parent       the process whose death orphans this one; empty to watch none (a Kubernetes pod)
     * @param stopTraining asks training to stop; may be called before training started
     * @param halt         ends the process with an exit code: {@code Runtime.getRuntime()::halt} outside tests
     */
    public OrphanGuard(Optional<ProcessHandle> parent, Duration pollInterval, Duration grace, Runnable stopTraining,
                       IntConsumer halt, PrintWriter log) {
        this.grace = grace;
        this.stopTraining = stopTraining;
        this.halt = halt;
        this.log = log;
        parent.ifPresent(p -> timer.scheduleWithFixedDelay(() -> {
            if (!p.isAlive()) {
                orphaned("its parent process " + p.pid() + " is gone");
            }
        }, pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS));
    }

    /** Why the runner is orphaned, once it is. */
    public synchronized Optional<String> reason() {
        return Optional.ofNullable(reason);
    }

    public boolean isOrphaned() {
        return reason().isPresent();
    }

    /** Stops training because of {@code why}; only the first call counts. */
    public void orphaned(String why) {
        synchronized (this) {
            if (reason != null) {
                return;
            }
            reason = why;
        }
        log.println("stopping: " + why + "; training stops at its next step, the process exits within "
                + grace.toSeconds() + " s");
        log.flush();
        stopTraining.run();
        try {
            timer.schedule(() -> {
                log.println("still running " + grace.toSeconds() + " s after being orphaned; halting");
                log.flush();
                halt.accept(EXIT_ORPHANED);
            }, grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            // closed: the runner is on its way out already
        }
    }

    /** Stops watching: the runner is exiting on its own. */
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
