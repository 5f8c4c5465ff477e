package dev.quiver.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code quiver control-plane}: files, jobs, adapters and tasks, without loading the model for serving. */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
        description = "Run the control plane alone (files, fine-tuning jobs, adapter registry, tasks).")
final class ControlPlaneCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServerOptions options;

    @Override
    public Integer call() throws Exception {
        return options.run("control-plane", Map.of("quiver.serving.enabled", false), false,
                spec.commandLine().getOut());
    }
}
