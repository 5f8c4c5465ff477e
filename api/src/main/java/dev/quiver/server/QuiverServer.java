package dev.quiver.server;

import dev.quiver.lifecycle.ShutdownHealthIndicator;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Starts the Micronaut application for the server roles with properties derived from CLI options. */
public final class QuiverServer {
    private QuiverServer() {
    }

    /** Options shared by the server roles. */
    public record Options(Path dataDir, String host, int port, Map<String, Object> extra) {
    }

    /**
     * Starts the HTTP server and returns its running context; {@link #stop} it. Not {@code Micronaut.start()}:
     * that registers a JVM shutdown hook, and the caller owns the one way this process stops.
     */
    public static ApplicationContext start(Options options) {
        ApplicationContext context = ApplicationContext.builder()
                .mainClass(QuiverServer.class)
                .properties(properties(options))
                .start();
        try {
            context.getBean(EmbeddedServer.class).start();
            return context;
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    /**
     * Stops gracefully: readiness DOWN, then closing the context runs Micronaut's graceful shutdown (the
     * server stops accepting and drains in-flight requests within {@code quiver.shutdown.grace-period},
     * scheduled tasks end), and only then are the beans (scheduler, launchers, database) destroyed.
     */
    public static void stop(ApplicationContext context) {
        context.getBean(ShutdownHealthIndicator.class).shutdownBegan();
        context.close();
    }

    /** Starts the application without an HTTP server, for CLI commands that only need the database. */
    public static ApplicationContext startHeadless(Path dataDir) {
        Map<String, Object> props = properties(new Options(dataDir, "127.0.0.1", -1, Map.of()));
        return ApplicationContext.builder().properties(props).start();
    }

    static Map<String, Object> properties(Options options) {
        Path dataDir = options.dataDir().toAbsolutePath().normalize();
        Map<String, Object> props = new HashMap<>();
        props.put("quiver.data-dir", dataDir.toString());
        if (System.getenv("QUIVER_DB_URL") == null) {
            props.put("datasources.default.url", "jdbc:h2:file:" + dataDir.resolve("db").resolve("quiver")
                    // WRITE_DELAY=0: a commit is in the file when it returns, so a killed server keeps what it
                    // acknowledged (runner events, checkpoints); H2's default loses about the last second
                    + ";DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000;WRITE_DELAY=0");
        }
        if (options.host() != null) {
            props.put("micronaut.server.host", options.host());
        }
        if (options.port() >= 0) {
            props.put("micronaut.server.port", options.port());
        }
        props.putAll(options.extra());
        return props;
    }

    /** The base URL a running context listens on. */
    public static String url(ApplicationContext context) {
        return context.getBean(EmbeddedServer.class).getURL().toString();
    }
}
