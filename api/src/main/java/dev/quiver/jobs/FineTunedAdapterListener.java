package dev.quiver.jobs;

import dev.quiver.registry.AdapterRecord;
import java.util.Optional;

/**
 * Told when a job's adapter is registered, inside the transaction that registers it and marks the job
 * succeeded: what a listener writes commits with the success, and a listener that throws rolls it back.
 */
public interface FineTunedAdapterListener {

    /** Reacts to {@code job}'s new {@code adapter}; returns a line for the job's event log, if any. */
    Optional<String> onFineTuned(FineTuningJob job, AdapterRecord adapter);
}
