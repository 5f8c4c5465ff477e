package dev.quiver.cli;

import dev.quiver.lifecycle.StopSignal;
import dev.quiver.server.QuiverServer;
import io.micronaut.context.ApplicationContext;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options shared by the server roles ({@code server}, {@code control-plane}, {@code serve}), and their run loop. */
final class ServerOptions {
    @Option(names = "--data-dir", defaultValue = "${env:QUIVER_DATA_DIR:-./quiver-data}",
            description = "Database, files and adapters live here (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Interface to bind (default: ${DEFAULT-VALUE}); beyond loopback, API keys are required.")
    String host;

    @Option(names = "--port", defaultValue = "${env:QUIVER_PORT:-8080}",
            description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--base-model", defaultValue = "${env:QUIVER_BASE_MODEL_PATH}",
            description = "Hugging Face model directory to fine-tune and serve.")
    Path baseModel;

    /** Starts the application with the role's properties, serves until SIGTERM or SIGINT, then stops gracefully. */
    int run(String role, Map<String, Object> roleProperties, boolean demoModelIfMissing, PrintWriter out)
            throws Exception {
        Path model = baseModel;
        if (model == null) {
            if (!demoModelIfMissing) {
                throw new IllegalArgumentException("--base-model is required (or $QUIVER_BASE_MODEL_PATH)");
            }
            model = DemoBaseModel.ensure(dataDir, out);
        }
        Map<String, Object> props = new HashMap<>(roleProperties);
        props.put("quiver.base-model.path", model.toAbsolutePath().toString());
        // before the start, so a signal during startup stops the server as soon as it is up
        StopSignal stop = StopSignal.install();
        ApplicationContext context = QuiverServer.start(new QuiverServer.Options(dataDir, host, port, props));
        out.println("quiver " + role + " listening on " + QuiverServer.url(context) + " (base model "
                + model.toAbsolutePath().normalize() + ", data dir " + dataDir.toAbsolutePath().normalize() + ")");
        out.flush();
        stop.await();
        out.println("quiver " + role + " stopping");
        out.flush();
        QuiverServer.stop(context);
        out.println("quiver " + role + " stopped");
        out.flush();
        return 0;
    }
}
