package dev.quiver.lifecycle;

import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT as a latch the server roles wait on, instead of JVM shutdown hooks: a hook runs
 * inside the JVM's exit, so it can neither return exit code 0 nor avoid racing Micronaut's own hook.
 */
public final class StopSignal {
    private static final String[] SIGNALS = {"TERM", "INT"};

    private final CountDownLatch received = new CountDownLatch(1);

    private StopSignal() {
    }

    /** Takes over SIGTERM and SIGINT; a second signal falls back to the default and ends the process at once. */
    public static StopSignal install() {
        StopSignal stop = new StopSignal();
        for (String name : SIGNALS) {
            Signal.handle(new Signal(name), signal -> {
                stop.received.countDown();
                // an operator who signals again wants the process gone now, drained or not
                for (String other : SIGNALS) {
                    Signal.handle(new Signal(other), SignalHandler.SIG_DFL);
                }
            });
        }
        return stop;
    }

    /** Blocks until the first signal. */
    public void await() throws InterruptedException {
        received.await();
    }
}
