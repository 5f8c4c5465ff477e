package dev.quiver.finetune.runner;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Sends the job's events to the control plane in order from a thread of its own, so training never waits on
 * the network: each event gets the next sequence number when it is queued and leaves the queue only once the
 * control plane has acknowledged it, so a report that failed is resent (with {@link ControlPlaneRetry}'s
 * backoff) before any later one, and the control plane drops the copies of a number it already has. While the
 * queue is idle it sends a heartbeat every {@code heartbeatInterval}. When the control plane is gone or says the
 * job is not running any more, it stops sending and tells {@code onStop} why.
 */
public final class EventReporter implements AutoCloseable {
    private record Pending(long seq, String level, String type, String message, Object data) {
    }

    private final ControlPlaneClient client;
    private final ControlPlaneRetry retry;
    private final Duration heartbeatInterval;
    private final Consumer<IOException> onStop;
    private final PrintWriter log;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread sender;
    /** Guarded by this: the next number to give out, the newest acknowledged, and whether sending has ended. */
    private long nextSeq;
    private long acknowledged;
    private boolean ended;

    /**
     * @param firstSeq the number of this runner's first event: the job's numbers continue across attempts
     * @param onStop   called once, from the sender thread, with {@link ControlPlaneRetry.ControlPlaneGoneException}
     *                 or {@link ControlPlaneClient.JobNotRunningException}
     */
    public EventReporter(ControlPlaneClient client, ControlPlaneRetry retry, long firstSeq, Duration heartbeatInterval,
                         Consumer<IOException> onStop, PrintWriter log) {
        this.client = client;
        this.retry = retry;
        this.heartbeatInterval = heartbeatInterval;
        this.onStop = onStop;
        this.log = log;
        this.nextSeq = firstSeq;
        this.acknowledged = firstSeq - 1;
        this.sender = new Thread(this::send, "quiver-event-reporter");
        sender.setDaemon(true);
        sender.start();
    }

    /** Queues an event; once sending has ended it is dropped (the runner is stopping). */
    public synchronized void report(String level, String type, String message, Object data) {
        if (!ended) {
            queue.add(new Pending(nextSeq++, level, type, message, data));
        }
    }

    /** Waits until every queued event is acknowledged; false if sending ended first or time ran out. */
    public synchronized boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (acknowledged < nextSeq - 1 && !ended) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return acknowledged == nextSeq - 1;
    }

    /** Stops sending; events still queued are dropped, so {@link #flush} first what must arrive. */
    @Override
    public void close() {
        end();
        sender.interrupt();
    }

    private void send() {
        try {
            while (!isEnded()) {
                Pending next = queue.poll(heartbeatInterval.toMillis(), TimeUnit.MILLISECONDS);
                if (next == null) {
                    retry.call("heartbeat", () -> {
                        client.heartbeat();
                        return null;
                    });
                } else {
                    deliver(next);
                }
            }
        } catch (InterruptedException e) {
            // closed
        } catch (ControlPlaneRetry.ControlPlaneGoneException | ControlPlaneClient.JobNotRunningException e) {
            end();
            onStop.accept(e);
        } catch (IOException e) {
            // only while stopping: the retry gives up at once then, and there is no one left to tell
            if (!isEnded()) {
                log.println("stopped reporting: " + e.getMessage());
            }
        } finally {
            end();
        }
    }

    private void deliver(Pending p) throws IOException {
        try {
            retry.call("event " + p.seq(), () -> {
                client.event(p.seq(), p.level(), p.type(), p.message(), p.data());
                return null;
            });
        } catch (ControlPlaneClient.ControlPlaneException refused) {
            // a 4xx other than 401/409 is this runner's bug; resending would be refused again, and the events
            // after it are still worth having
            log.println("event " + p.seq() + " dropped: " + refused.getMessage());
        }
        synchronized (this) {
            acknowledged = p.seq();
            notifyAll();
        }
    }

    private synchronized boolean isEnded() {
        return ended;
    }

    private synchronized void end() {
        ended = true;
        notifyAll();
    }
}
