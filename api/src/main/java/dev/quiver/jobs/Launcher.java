package dev.quiver.jobs;

import java.io.IOException;
import java.util.Optional;

/**
 * Starts and stops the runner of a fine-tuning job ({@code quiver train --job ID --control-plane URL}):
 * as a child JVM locally, as a Kubernetes Job in production.
 */
public interface Launcher {

    /** What a runner needs to find its job and prove it is the job's runner. */
    record LaunchRequest(String jobId, int attempt, String runnerToken, String controlPlaneUrl) {
    }

    /** Starts the runner and returns a reference to it (a pid, a Kubernetes Job name). */
    String launch(LaunchRequest request) throws IOException;

    /** Whether the runner behind {@code ref} is still running. */
    boolean isAlive(String ref);

    /** Stops the runner behind {@code ref}; safe to call for one that has already ended. */
    void cancel(String ref);

    /**
     * Why the runner behind {@code ref} ended without reporting, when the launcher can tell (exit code,
     * OOMKilled, evicted, image pull failure); empty when it cannot. Asked after {@link #isAlive} said false.
     */
    default Optional<String> failureReason(String ref) {
        return Optional.empty();
    }
}
