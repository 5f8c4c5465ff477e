package dev.quiver.server;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Executors for the control plane's own background work: daemon threads, named for thread dumps and logs. */
public final class Background {
    private Background() {
    }

    /** One daemon thread named {@code name} that runs what is submitted in order. */
    public static ExecutorService singleThread(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }
}
