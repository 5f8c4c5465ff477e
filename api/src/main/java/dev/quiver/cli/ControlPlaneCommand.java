package dev.quiver.cli;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quiver control-plane}: files, jobs, adapters and tasks, without loading the model for serving; tasks
 * and MCP run on the serving replicas at {@code --serving-url}.
 */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
        description = "Run the control plane alone (files, fine-tuning jobs, adapter registry, tasks).")
final class ControlPlaneCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServerOptions options;

    @Option(names = "--serving-url", defaultValue = "${env:QUIVER_SERVING_URL}",
            description = "Base URL of the serving replicas (their Service), where tasks and MCP run their"
                    + " completions; without it they answer 503.")
    String servingUrl;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put("quiver.serving.enabled", false);
        if (servingUrl != null && !servingUrl.isBlank()) {
            props.put("quiver.serving.url", servingUrl);
        }
        return options.run("control-plane", props, false, spec.commandLine().getOut());
    }
}
