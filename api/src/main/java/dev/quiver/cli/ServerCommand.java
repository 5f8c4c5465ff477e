package dev.quiver.cli;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code quiver server}: the all-in-one server (control plane, serving, local launcher). */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the all-in-one server: control plane, serving and the local job launcher. Without"
                + " --base-model it generates the small demo model once in the data dir.")
final class ServerCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServerOptions options;

    @Mixin
    ServingEngineOptions engine;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> props = new HashMap<>();
        engine.addTo(props);
        return options.run("server", props, true, spec.commandLine().getOut());
    }
}
