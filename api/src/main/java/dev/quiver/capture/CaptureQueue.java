package dev.quiver.capture;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes captured calls to the database on a thread of its own, so a proxied call never waits for the
 * database: {@link #offer} only enqueues, and when the bounded queue is full the call is dropped and
 * counted in {@code quiver_capture_dropped_total} instead of blocking or failing.
 */
@Singleton
public class CaptureQueue {
    private static final Logger LOG = LoggerFactory.getLogger(CaptureQueue.class);
    private static final int BATCH = 256;

    private final CapturedCallRepository calls;
    private final BlockingQueue<CapturedCall> queue;
    private final Counter dropped;
    private final Object progress = new Object();
    private long offered;
    private long processed;
    private volatile boolean running = true;
    private Thread writer;

    public CaptureQueue(CapturedCallRepository calls, MeterRegistry registry,
                        @Value("${quiver.capture.queue-capacity:10000}") int capacity) {
        this.calls = calls;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.dropped = Counter.builder("quiver.capture.dropped").description("captured calls dropped because the"
                + " capture queue was full or the write failed").register(registry);
    }

    @PostConstruct
    void start() {
        writer = new Thread(this::drain, "quiver-capture-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Enqueues {@code call} for writing; false (and counted) when the queue is full. */
    public boolean offer(CapturedCall call) {
        synchronized (progress) {
            if (!queue.offer(call)) {
                dropped.increment();
                return false;
            }
            offered++;
            return true;
        }
    }

    /** Waits until every call offered before now is written (or dropped), at most {@code timeout}. */
    public void awaitWritten(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            long target = offered;
            while (processed < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
    }

    /** Calls dropped since start. */
    public long dropped() {
        return (long) dropped.count();
    }

    private void drain() {
        List<CapturedCall> batch = new ArrayList<>(BATCH);
        while (running || !queue.isEmpty()) {
            try {
                CapturedCall first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                synchronized (progress) {
                    processed += batch.size();
                    progress.notifyAll();
                }
                batch.clear();
            }
        }
    }

    private void write(List<CapturedCall> batch) {
        try {
            calls.saveAll(batch);
        } catch (RuntimeException e) {
            // one row of a task deleted meanwhile fails the whole batch: keep the others
            for (CapturedCall call : batch) {
                try {
                    calls.save(call.unsaved());
                } catch (RuntimeException one) {
                    dropped.increment();
                    LOG.debug("dropped a captured call of task {}: {}", call.getTaskId(), one.getMessage());
                }
            }
        }
    }

    @PreDestroy
    void stop() throws InterruptedException {
        running = false;
        if (writer != null) {
            writer.join(5000);
        }
    }
}
