package dev.quiver.cli;

import dev.quiver.auth.ApiKeyService;
import dev.quiver.server.QuiverServer;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver keys create}: API keys for the control plane. */
@Command(name = "keys", description = "Manage API keys.", mixinStandardHelpOptions = true,
        subcommands = {KeysCommand.Create.class})
final class KeysCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an API key; it is printed once and stored only as a hash.")
    static final class Create implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--data-dir", defaultValue = "./quiver-data", description = "Data dir (default: ${DEFAULT-VALUE}).")
        Path dataDir;

        @Option(names = "--project", defaultValue = "default-project",
                description = "Project the key acts in; created if new (default: ${DEFAULT-VALUE}).")
        String project;

        @Option(names = "--name", defaultValue = "cli", description = "A label for the key.")
        String name;

        @Override
        public Integer call() {
            try (ApplicationContext context = QuiverServer.startHeadless(dataDir)) {
                ApiKeyService.CreatedKey key = context.getBean(ApiKeyService.class).create(project, name);
                spec.commandLine().getOut().println(key.key());
                spec.commandLine().getErr().println("created " + key.id() + " for project " + key.projectId()
                        + "; store it now, it is not shown again");
            }
            return 0;
        }
    }
}
