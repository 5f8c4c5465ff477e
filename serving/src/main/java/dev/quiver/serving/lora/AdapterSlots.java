package dev.quiver.serving.lora;

import dev.quiver.serving.graph.LoraLayout;
import java.io.IOException;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fixed set of active LoRA slots: which adapter each slot holds, how many running sequences use
 * it, which are pinned, and which unused slot to evict (least recently used) when a new adapter needs one.
 * Slot 0 is the base and is never assigned. The engine thread uses only the methods that do no I/O
 * ({@link #tryAcquire(String)} and {@link #acquire(String, PreparedAdapter)}, which copies host weights into
 * a slot); the others may read an adapter from disk through the registry.
 */
public final class AdapterSlots {
    private final LoraPools pools;
    private final AdapterRegistry registry;
    private final String[] adapter;
    private final int[] users;
    private final boolean[] pinned;
    private final long[] lastUsed;
    private long clock;
    // read without the lock: pin(String) holds it across a disk read, and a metrics scrape must not wait on that
    private final AtomicLong evictions = new AtomicLong();

    public AdapterSlots(LoraPools pools, AdapterRegistry registry) {
        this.pools = pools;
        this.registry = registry;
        int n = pools.layout().slots();
        adapter = new String[n];
        users = new int[n];
        pinned = new boolean[n];
        lastUsed = new long[n];
    }

    /**
     * The slot of {@code name} (null or empty: the base, slot 0), loading it into a free or evicted slot
     * if needed, with one more user until {@link #release(int)}.
     */
    public synchronized int acquire(String name) throws IOException, NoFreeSlotException {
        if (name == null || name.isEmpty()) {
            return LoraLayout.BASE_SLOT;
        }
        int slot = load(name);
        use(slot);
        return slot;
    }

    /** The slot of {@code name} with one more user if the base or resident now; empty otherwise. No I/O. */
    public synchronized OptionalInt tryAcquire(String name) {
        if (name == null || name.isEmpty()) {
            return OptionalInt.of(LoraLayout.BASE_SLOT);
        }
        OptionalInt slot = slotOf(name);
        slot.ifPresent(this::use);
        return slot;
    }

    /**
     * The slot of {@code name} with one more user, copying {@code weights} (already read and validated)
     * into a free or evicted slot if it is not resident. No I/O.
     */
    public synchronized int acquire(String name, PreparedAdapter weights) throws NoFreeSlotException {
        OptionalInt resident = tryAcquire(name);
        if (resident.isPresent()) {
            return resident.getAsInt();
        }
        int slot = freeSlotFor(name);
        write(slot, name, weights);
        use(slot);
        return slot;
    }

    /** Whether every adapter slot is pinned, so no adapter that is not resident can ever get one. */
    public synchronized boolean allPinned() {
        for (int s = 1; s < adapter.length; s++) {
            if (!pinned[s]) {
                return false;
            }
        }
        return true;
    }

    /** Whether an adapter that is not resident could get a slot now (a free one, or one to evict). */
    public synchronized boolean hasRoom() {
        return victim() >= 0;
    }

    private void use(int slot) {
        if (slot != LoraLayout.BASE_SLOT) {
            users[slot]++;
            lastUsed[slot] = ++clock;
        }
    }

    public synchronized void release(int slot) {
        if (slot == LoraLayout.BASE_SLOT) {
            return;
        }
        if (users[slot] == 0) {
            throw new IllegalStateException("slot " + slot + " released more often than acquired");
        }
        users[slot]--;
        lastUsed[slot] = ++clock;
    }

    /** Loads {@code name} and keeps it resident until {@link #unpin(String)}. */
    public synchronized int pin(String name) throws IOException, NoFreeSlotException {
        int slot = load(name);
        pinned[slot] = true;
        return slot;
    }

    /** Copies {@code weights} into a slot for {@code name} unless resident, and keeps it there until unpinned. */
    public synchronized int pin(String name, PreparedAdapter weights) throws NoFreeSlotException {
        OptionalInt resident = slotOf(name);
        int slot = resident.isPresent() ? resident.getAsInt() : freeSlotFor(name);
        if (resident.isEmpty()) {
            write(slot, name, weights);
        }
        pinned[slot] = true;
        return slot;
    }

    /** Whether {@code name} is resident and pinned. */
    public synchronized boolean isPinned(String name) {
        OptionalInt slot = slotOf(name);
        return slot.isPresent() && pinned[slot.getAsInt()];
    }

    public synchronized void unpin(String name) {
        slotOf(name).ifPresent(s -> pinned[s] = false);
    }

    /**
     * Re-reads {@code name} from the registry into its slot (after a new version was registered). The
     * slot must be unused, so no running sequence sees its weights change under it.
     */
    public synchronized void reload(String name) throws IOException {
        OptionalInt slot = slotOf(name);
        if (slot.isEmpty()) {
            return;
        }
        if (users[slot.getAsInt()] > 0) {
            throw new IllegalStateException("adapter '" + name + "' is in use by " + users[slot.getAsInt()]
                    + " running sequences; reload it when they finish");
        }
        write(slot.getAsInt(), name);
    }

    /** Empties the slot of {@code name} if no running sequence uses it; returns whether it did. */
    public synchronized boolean evict(String name) {
        OptionalInt slot = slotOf(name);
        if (slot.isEmpty() || users[slot.getAsInt()] > 0) {
            return false;
        }
        int s = slot.getAsInt();
        pools.clear(s);
        adapter[s] = null;
        pinned[s] = false;
        return true;
    }

    /** How many times a resident adapter was pushed out of its slot to make room for another one. */
    public long evictions() {
        return evictions.get();
    }

    /** Whether a running sequence uses adapter {@code name}. */
    public synchronized boolean inUse(String name) {
        OptionalInt slot = slotOf(name);
        return slot.isPresent() && users[slot.getAsInt()] > 0;
    }

    public synchronized OptionalInt slotOf(String name) {
        for (int s = 1; s < adapter.length; s++) {
            if (name.equals(adapter[s])) {
                return OptionalInt.of(s);
            }
        }
        return OptionalInt.empty();
    }

    /** Slot to adapter name, for the slots that hold one. */
    public synchronized Map<Integer, String> resident() {
        Map<Integer, String> m = new TreeMap<>();
        for (int s = 1; s < adapter.length; s++) {
            if (adapter[s] != null) {
                m.put(s, adapter[s]);
            }
        }
        return m;
    }

    private int load(String name) throws IOException, NoFreeSlotException {
        OptionalInt existing = slotOf(name);
        if (existing.isPresent()) {
            return existing.getAsInt();
        }
        int slot = freeSlotFor(name);
        write(slot, name, registry.load(name));
        return slot;
    }

    private int freeSlotFor(String name) throws NoFreeSlotException {
        int slot = victim();
        if (slot < 0) {
            throw new NoFreeSlotException("all " + (adapter.length - 1) + " adapter slots are in use or pinned ("
                    + resident() + "); adapter '" + name + "' must wait for one to free up");
        }
        return slot;
    }

    private void write(int slot, String name) throws IOException {
        write(slot, name, registry.load(name));
    }

    // the registry refused misfits (naming adapter and module) when it prepared the weights
    private void write(int slot, String name, PreparedAdapter weights) {
        pools.write(slot, weights);
        if (adapter[slot] != null && !adapter[slot].equals(name)) {
            evictions.incrementAndGet();
        }
        adapter[slot] = name;
        lastUsed[slot] = ++clock;
    }

    // an empty slot first, else the least recently used slot that nobody uses and nobody pinned
    private int victim() {
        int best = -1;
        for (int s = 1; s < adapter.length; s++) {
            if (adapter[s] == null) {
                return s;
            }
            if (users[s] == 0 && !pinned[s] && (best < 0 || lastUsed[s] < lastUsed[best])) {
                best = s;
            }
        }
        return best;
    }
}
