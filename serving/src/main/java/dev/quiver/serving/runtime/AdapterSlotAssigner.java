package dev.quiver.serving.runtime;

import dev.quiver.serving.lora.AdapterLoader;
import dev.quiver.serving.lora.AdapterRegistry;
import dev.quiver.serving.lora.AdapterSlots;
import dev.quiver.serving.lora.NoFreeSlotException;
import dev.quiver.serving.lora.PreparedAdapter;
import java.io.IOException;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Gives a queued request the slot its adapter sits in, on the engine thread and without disk I/O: a resident
 * adapter's slot at once; otherwise the {@link AdapterLoader} reads the weights on its own thread while the
 * request waits, and once they arrive they are copied into a free or evicted slot.
 */
final class AdapterSlotAssigner {
    private final AdapterRegistry registry;
    private final AdapterSlots slots;
    private final AdapterLoader loader;
    private final EngineCounters counters;

    AdapterSlotAssigner(AdapterRegistry registry, AdapterSlots slots, AdapterLoader loader, EngineCounters counters) {
        this.registry = registry;
        this.slots = slots;
        this.loader = loader;
        this.counters = counters;
    }

    /**
     * {@code r}'s adapter slot with one more user (release it with {@link #release(int)}), or empty while its
     * weights are loading ({@code onLoaded} runs when they arrive) or every slot is busy with running sequences
     * ({@code othersRunning}: one will free up). Fails for an adapter that is not registered, did not load, or
     * can never get a slot (all are pinned).
     */
    OptionalInt slotFor(QueuedRequest r, boolean othersRunning, Runnable onLoaded) throws IOException {
        String name = r.request.adapter();
        OptionalInt resident = slots.tryAcquire(name);
        if (resident.isPresent()) {
            return resident;
        }
        if (r.weights == null) {
            if (!registry.contains(name)) {
                throw registry.notRegistered(name);
            }
            r.weights = loader.load(name);
            r.weights.whenComplete((w, e) -> onLoaded.run());
        }
        if (!r.weights.isDone()) {
            return OptionalInt.empty();
        }
        PreparedAdapter weights = loaded(r.weights);
        if (!registry.contains(name)) {
            throw registry.notRegistered(name); // removed while it was loading
        }
        if (!slots.hasRoom() && othersRunning && !slots.allPinned()) {
            return OptionalInt.empty(); // a running sequence will release a slot
        }
        try {
            int slot = slots.acquire(name, weights);
            counters.slotLoad();
            return OptionalInt.of(slot);
        } catch (NoFreeSlotException e) {
            // nothing will release a slot: they are all pinned (or nothing runs that could use one)
            throw new IllegalStateException(e.getMessage() + " (every slot is pinned)");
        }
    }

    /** Gives back one use of {@code slot}, taken by {@link #slotFor}. */
    void release(int slot) {
        slots.release(slot);
    }

    private static PreparedAdapter loaded(CompletableFuture<PreparedAdapter> weights) throws IOException {
        try {
            return weights.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(e.getCause());
        }
    }
}
