package dev.quiver.serving.lora;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Brings adapters into the registry's host cache off the caller's thread: reading and validating a
 * PEFT directory takes milliseconds to seconds, and the engine thread must never wait on a disk while
 * other sequences are decoding. Concurrent requests for the same adapter share one read.
 */
public final class AdapterLoader implements AutoCloseable {
    private final AdapterRegistry registry;
    private final Executor executor;
    private final ExecutorService owned;
    private final Map<String, CompletableFuture<PreparedAdapter>> inFlight = new HashMap<>();

    /** Loads on one daemon thread of its own. */
    public AdapterLoader(AdapterRegistry registry) {
        this(registry, Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "quiver-adapter-loader");
            t.setDaemon(true);
            return t;
        }), true);
    }

    /** Loads on {@code executor}, which the caller owns (tests use one they drive by hand). */
    public AdapterLoader(AdapterRegistry registry, Executor executor) {
        this(registry, executor, false);
    }

    private AdapterLoader(AdapterRegistry registry, Executor executor, boolean owns) {
        this.registry = registry;
        this.executor = executor;
        this.owned = owns ? (ExecutorService) executor : null;
    }

    /**
     * The weights of {@code name}: an already completed future when they are in host memory, else one
     * that the loader thread completes (exceptionally with the registry's error, which names the adapter
     * and its directory). A failed read is not remembered: asking again reads again.
     */
    public synchronized CompletableFuture<PreparedAdapter> load(String name) {
        CompletableFuture<PreparedAdapter> running = inFlight.get(name);
        if (running != null && !running.isDone()) {
            return running;
        }
        inFlight.remove(name);
        Optional<PreparedAdapter> now = registry.inMemory(name);
        if (now.isPresent()) {
            return CompletableFuture.completedFuture(now.get());
        }
        CompletableFuture<PreparedAdapter> f = new CompletableFuture<>();
        inFlight.put(name, f);
        executor.execute(() -> {
            try {
                f.complete(registry.load(name));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    @Override
    public void close() {
        if (owned != null) {
            owned.shutdownNow();
        }
    }
}
