package dev.quiver.cli;

import dev.quiver.server.QuiverServer;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver server}: the all-in-one server (control plane, serving, local launcher). */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the all-in-one server: control plane, serving and the local job launcher.")
final class ServerCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-dir", defaultValue = "./quiver-data",
            description = "Database, files and adapters live here (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Interface to bind (default: ${DEFAULT-VALUE}); beyond loopback, API keys are required.")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--base-model", description = "Hugging Face model directory to fine-tune and serve"
            + " (default: a generated demo model, made once in the data dir).")
    Path baseModel;

    @Override
    public Integer call() throws Exception {
        Path model = baseModel != null ? baseModel : DemoBaseModel.ensure(dataDir, spec.commandLine().getErr());
        ApplicationContext context = QuiverServer.start(new QuiverServer.Options(dataDir, host, port,
                Map.of("quiver.base-model.path", model.toAbsolutePath().toString())));
        spec.commandLine().getOut().println("quiver server listening on " + QuiverServer.url(context)
                + " (data dir " + dataDir.toAbsolutePath().normalize() + ")");
        spec.commandLine().getOut().flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            context.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
