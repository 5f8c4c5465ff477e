package dev.quiver.finetune.runner;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

/**
 * Retries calls to the control plane that failed in a way a retry may mend (a 5xx, a 429, no connection), with
 * exponential backoff and jitter, and decides when the control plane is gone: once every call has failed for
 * longer than {@code giveUpAfter}, counted from the first failure since the last success of any call.
 */
public final class ControlPlaneRetry {
    private static final Duration FIRST_DELAY = Duration.ofMillis(500);
    private static final Duration MAX_DELAY = Duration.ofSeconds(10);

    /** The control plane has not answered for longer than the bound. */
    public static final class ControlPlaneGoneException extends IOException {
        ControlPlaneGoneException(String message, IOException last) {
            super(message, last);
        }
    }

    /** A call to retry. */
    @FunctionalInterface
    public interface Call<T> {
        T call() throws IOException;
    }

    private final Duration giveUpAfter;
    private final BooleanSupplier stopped;
    private final PrintWriter log;
    /** System.nanoTime() of the first failure since the last success; 0 while calls succeed. Shared by threads. */
    private long failingSince;

    /** @param stopped true once the runner is stopping anyway: a failed call then fails at once */
    public ControlPlaneRetry(Duration giveUpAfter, BooleanSupplier stopped, PrintWriter log) {
        this.giveUpAfter = giveUpAfter;
        this.stopped = stopped;
        this.log = log;
    }

    /** Runs {@code call} until it succeeds, fails for good, or the control plane counts as gone. */
    public <T> T call(String what, Call<T> call) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                T result = call.call();
                succeeded();
                return result;
            } catch (ControlPlaneClient.ControlPlaneException e) {
                if (!e.retryable()) {
                    throw e;
                }
                backOff(what, attempt, e);
            } catch (ControlPlaneClient.JobNotRunningException e) {
                throw e;
            } catch (IOException e) {
                backOff(what, attempt, e);
            }
        }
    }

    private synchronized void succeeded() {
        failingSince = 0;
    }

    private synchronized long failingFor(long now) {
        if (failingSince == 0) {
            failingSince = now;
        }
        return now - failingSince;
    }

    private void backOff(String what, int attempt, IOException e) throws IOException {
        long failing = failingFor(System.nanoTime());
        String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (failing > giveUpAfter.toNanos()) {
            throw new ControlPlaneGoneException(String.format(Locale.ROOT, "the control plane has not answered for"
                    + " %.0f s (bound %d s); last, %s: %s", failing / 1e9, giveUpAfter.toSeconds(), what, cause), e);
        }
        if (stopped.getAsBoolean()) {
            throw e;
        }
        // equal jitter: at least half the exponential delay, so retries of many runners spread out but still wait
        long cap = Math.min(MAX_DELAY.toMillis(), FIRST_DELAY.toMillis() << Math.min(attempt, 10));
        long delay = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
        log.printf(Locale.ROOT, "%s failed (%s); retrying in %.1f s%n", what, cause, delay / 1000.0);
        log.flush();
        try {
            Thread.sleep(delay);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to retry " + what, e);
        }
    }
}
