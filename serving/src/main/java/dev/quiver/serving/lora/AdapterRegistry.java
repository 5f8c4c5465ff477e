package dev.quiver.serving.lora;

import dev.quiver.adapters.peft.AdapterFormatException;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The adapters this server knows, by name, and an LRU cache of the ones loaded into host memory, each kept in
 * the LoRA pools' layout and precision ({@link PreparedAdapter}: on fp16 pools half the bytes of PEFT's factors).
 * Adapters registered from a directory are re-read after eviction; adapters registered as objects stay.
 * Every load is validated against the base model and the pools ({@link PoolFormat#misfits}), naming the adapter
 * in errors.
 * Disk reads happen outside the registry's lock, so a slow read never holds up callers that only look
 * into the host cache (the engine thread, see {@link #inMemory(String)}).
 */
public final class AdapterRegistry {
    private final PoolFormat format;
    private final int hostCacheCapacity;
    private final Map<String, Source> known = new LinkedHashMap<>();
    private final LinkedHashMap<String, PreparedAdapter> hostCache = new LinkedHashMap<>(16, 0.75f, true);
    // outside the lock like the reads themselves, so a metrics scrape never waits on a disk
    private final AtomicLong reads = new AtomicLong();

    /** Where an adapter's weights come from. */
    private record Source(Path dir, PreparedAdapter resident) {
        String describe() {
            return dir == null ? "in memory" : dir.toString();
        }
    }

    /** A registry for pools of {@code format}, keeping up to {@code hostCacheCapacity} adapters in host memory. */
    public AdapterRegistry(PoolFormat format, int hostCacheCapacity) {
        if (hostCacheCapacity < 1) {
            throw new IllegalArgumentException("host cache capacity must be at least 1, got " + hostCacheCapacity);
        }
        this.format = format;
        this.hostCacheCapacity = hostCacheCapacity;
    }

    /** Registers (or replaces) the PEFT directory {@code dir} as {@code name}; reads and validates it now. */
    public void register(String name, Path dir) throws IOException {
        PreparedAdapter adapter = read(name, dir);
        synchronized (this) {
            known.put(name, new Source(dir, null));
            hostCache.put(name, adapter);
            trim();
        }
    }

    /** Registers (or replaces) an adapter held in memory, which never leaves the host cache. */
    public void register(String name, PeftAdapter adapter) throws AdapterFormatException {
        PreparedAdapter prepared = prepare(name, "in memory", adapter); // outside the lock, as a read is
        synchronized (this) {
            known.put(name, new Source(null, prepared));
            hostCache.remove(name);
        }
    }

    public synchronized boolean contains(String name) {
        return known.containsKey(name);
    }

    public synchronized Set<String> names() {
        return new TreeSet<>(known.keySet());
    }

    public synchronized void remove(String name) {
        known.remove(name);
        hostCache.remove(name);
    }

    /**
     * The adapter's weights, from the host cache or re-read from its directory (on the caller's thread:
     * the engine reads through an {@link AdapterLoader} instead).
     */
    public PreparedAdapter load(String name) throws IOException {
        Source source;
        synchronized (this) {
            source = known.get(name);
            if (source == null) {
                throw notRegistered(name);
            }
            Optional<PreparedAdapter> now = inMemory(name);
            if (now.isPresent()) {
                return now.get();
            }
        }
        PreparedAdapter adapter = read(name, source.dir());
        synchronized (this) {
            // cache it only if nobody replaced or removed the registration while we read
            if (known.get(name) == source) {
                hostCache.put(name, adapter);
                trim();
            }
        }
        return adapter;
    }

    /** The adapter's weights if they are in host memory now (no I/O); refreshes its place in the LRU order. */
    public synchronized Optional<PreparedAdapter> inMemory(String name) {
        Source source = known.get(name);
        if (source == null) {
            return Optional.empty();
        }
        if (source.resident() != null) {
            return Optional.of(source.resident());
        }
        return Optional.ofNullable(hostCache.get(name));
    }

    /** Drops {@code name}'s weights from the host cache (it stays registered and is re-read on next use). */
    public synchronized void forgetCached(String name) {
        hostCache.remove(name);
    }

    /** The error for a name nobody registered, listing the known ones. */
    public synchronized NoSuchElementException notRegistered(String name) {
        return new NoSuchElementException("adapter '" + name + "' is not registered; known adapters: " + names());
    }

    /** Names currently in the host cache, least recently used first. */
    public synchronized Set<String> cached() {
        return new java.util.LinkedHashSet<>(hostCache.keySet());
    }

    /** How many times an adapter directory was read from disk (failed reads too), since this registry began. */
    public long reads() {
        return reads.get();
    }

    private PreparedAdapter read(String name, Path dir) throws IOException {
        reads.incrementAndGet();
        PeftAdapter adapter;
        try {
            adapter = PeftAdapter.read(dir);
        } catch (AdapterFormatException e) {
            throw new AdapterFormatException("adapter '" + name + "' (" + dir + "): " + e.getMessage());
        }
        return prepare(name, dir.toString(), adapter);
    }

    // checked against the base model and the pool rank, then against the pools themselves (whose messages name it)
    private PreparedAdapter prepare(String name, String where, PeftAdapter adapter) throws AdapterFormatException {
        try {
            adapter.validateAgainst(format.config(), format.layout().maxRank());
        } catch (AdapterFormatException e) {
            throw new AdapterFormatException("adapter '" + name + "' (" + where + "): " + e.getMessage());
        }
        try {
            return format.prepare(name, adapter);
        } catch (AdapterFormatException e) {
            throw new AdapterFormatException(e.getMessage() + " (adapter '" + name + "': " + where + ")");
        }
    }

    private void trim() {
        var it = hostCache.entrySet().iterator();
        while (hostCache.size() > hostCacheCapacity && it.hasNext()) {
            it.next();
            it.remove();
        }
    }
}
