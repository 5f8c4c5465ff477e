package dev.quiver.serving.runtime;

import dev.quiver.serving.lora.PreparedAdapter;
import java.util.concurrent.CompletableFuture;

/** A submitted request waiting for a KV row, and for its adapter's weights and slot. */
final class QueuedRequest {
    final GenerationRequest request;
    final GenerationListener listener;
    final GenerationHandle handle;
    // set on the engine thread when the adapter is not resident: its host weights, loading or loaded
    CompletableFuture<PreparedAdapter> weights;

    QueuedRequest(GenerationRequest request, GenerationListener listener, GenerationHandle handle) {
        this.request = request;
        this.listener = listener;
        this.handle = handle;
    }
}
