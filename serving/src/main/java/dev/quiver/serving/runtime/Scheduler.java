package dev.quiver.serving.runtime;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The queue of submitted requests, in arrival order, and the choice of which one starts next: the first that
 * fits (a free KV row, and its adapter in a slot), skipping, not waiting on, those whose adapter is still
 * loading or has no free slot. Requests that were cancelled or can never run end on the way. Also the engine
 * thread's wake-up: it sleeps here until something it should look at happens.
 */
final class Scheduler {
    private final AdapterSlotAssigner slots;
    private final OutputProcessor output;
    private final int maxSequenceLength;
    private final Object lock = new Object();
    // guarded by lock: the queue, and whether anything the engine thread should look at happened
    private final List<QueuedRequest> queue = new ArrayList<>();
    private boolean signalled;
    // written under lock, read by the engine thread's loop without it
    private volatile boolean open = true;

    Scheduler(AdapterSlotAssigner slots, OutputProcessor output, int maxSequenceLength) {
        this.slots = slots;
        this.output = output;
        this.maxSequenceLength = maxSequenceLength;
    }

    /** Queues {@code r} behind the others; refused once the engine is closed. */
    void add(QueuedRequest r) {
        synchronized (lock) {
            if (!open) {
                throw new IllegalStateException("the engine is closed");
            }
            queue.add(r);
            signalLocked();
        }
    }

    /** Requests queued and not started. */
    int depth() {
        synchronized (lock) {
            return queue.size();
        }
    }

    boolean isOpen() {
        return open;
    }

    /** Wakes the engine thread: a request arrived, an adapter finished loading, or a slot was freed. */
    void signal() {
        synchronized (lock) {
            signalLocked();
        }
    }

    /** Sleeps until {@link #signal()} (or a change to the queue) since the last wake-up, or until closed. */
    void awaitSignal() throws InterruptedException {
        synchronized (lock) {
            while (!signalled && open) {
                lock.wait();
            }
            signalled = false;
        }
    }

    /** Stops taking requests and wakes the engine thread so that it sees the engine closing. */
    void close() {
        synchronized (lock) {
            open = false;
            lock.notifyAll();
        }
    }

    /** Empties the queue and returns what it held, for the caller to end (once the engine thread stopped). */
    List<QueuedRequest> drain() {
        synchronized (lock) {
            List<QueuedRequest> left = List.copyOf(queue);
            queue.clear();
            return left;
        }
    }

    /**
     * Takes the first queued request that can start now, in {@code batch}'s next row, and returns it as a
     * sequence holding its adapter slot; null if none can.
     */
    RunningSequence next(RunningBatch batch) {
        if (!batch.hasFreeRow()) {
            return null;
        }
        List<QueuedRequest> snapshot;
        synchronized (lock) {
            snapshot = new ArrayList<>(queue);
        }
        for (QueuedRequest r : snapshot) {
            if (r.handle.isCancelled()) {
                dequeue(r);
                output.cancelQueued(r);
                continue;
            }
            OptionalInt slot;
            TextAssembler text;
            try {
                checkFits(r.request);
                text = output.textFor(r.request.params());
                slot = slots.slotFor(r, batch.hasDecoding(), this::signal);
            } catch (IOException | RuntimeException e) {
                dequeue(r);
                output.fail(r, e);
                continue;
            }
            if (slot.isPresent()) {
                dequeue(r);
                return new RunningSequence(r, batch.nextRow(), slot.getAsInt(), text);
            }
        }
        return null;
    }

    private void checkFits(GenerationRequest request) {
        int length = request.promptTokens().length;
        if (length >= maxSequenceLength) {
            throw new IllegalArgumentException("the prompt has " + length + " tokens; this server holds at most "
                    + maxSequenceLength + " tokens per sequence (prompt plus completion)");
        }
    }

    private void dequeue(QueuedRequest r) {
        synchronized (lock) {
            queue.remove(r);
            // the queue changed: look at it again before sleeping
            signalled = true;
        }
    }

    private void signalLocked() {
        signalled = true;
        lock.notifyAll();
    }
}
