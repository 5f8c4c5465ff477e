package dev.quiver.savings;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

/** The JSON shapes of {@code GET /v1/tasks/{name}/savings}. */
public final class SavingsViews {
    private SavingsViews() {
    }

    /** Latency percentiles in milliseconds. */
    @Serdeable
    public record Latency(double p50, double p95) {
    }

    /** The latest eval of a side on the shared held-out file. */
    @Serdeable
    public record Quality(String eval, String file, String metric, double score) {
    }

    /** One side's measured figures; {@code cost_usd} null when it has no price. */
    @Serdeable
    public record Side(String model, long calls, long errors, Latency latencyMs, long tokensIn, long tokensOut,
                       @Nullable Quality quality, @Nullable Double costUsd, @Nullable Double costPerCallUsd,
                       String costBasis) {
    }

    /**
     * Both sides of a task over a window, and what moving the traffic saves; {@code escalations} are the task's
     * calls its fallback sent on to the upstream (counted among the upstream's calls too), {@code escalation_rate}
     * their share of the task's own calls.
     */
    @Serdeable
    public record Savings(String object, String task, long windowSeconds, long since, Side upstream, Side small,
                          long escalations, @Nullable Double escalationRate, double callsPerDay,
                          @Nullable Double latencySpeedup, @Nullable Double savingPerCallUsd,
                          @Nullable Double projectedMonthlySavingUsd) {
    }
}
