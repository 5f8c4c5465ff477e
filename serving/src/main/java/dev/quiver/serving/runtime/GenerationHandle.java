package dev.quiver.serving.runtime;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** A submitted generation: its eventual result, and a way to cancel it (e.g. when an HTTP client goes away). */
public final class GenerationHandle {
    private final CompletableFuture<Completion> result = new CompletableFuture<>();
    private final AtomicBoolean cancelled = new AtomicBoolean();

    /** Completes with the {@link Completion}, or exceptionally with the error the listener also saw. */
    public CompletableFuture<Completion> result() {
        return result;
    }

    /** Asks the engine to stop this sequence at its next step; it completes with {@link FinishReason#CANCELLED}. */
    public void cancel() {
        cancelled.set(true);
    }

    boolean isCancelled() {
        return cancelled.get();
    }
}
