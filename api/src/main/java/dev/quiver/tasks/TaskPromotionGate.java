package dev.quiver.tasks;

import dev.quiver.jobs.FineTuningJob;
import java.util.Optional;

/**
 * Decides whether a succeeded job's adapter may take over its task at once. A gate that holds the move
 * returns the line for the job's events and moves the task itself later, once the adapter's eval passes.
 */
public interface TaskPromotionGate {

    /** Empty: promote {@code adapter} now; otherwise why it waits. */
    Optional<String> hold(Task task, FineTuningJob job, String adapter);
}
