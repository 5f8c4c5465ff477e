package dev.quiver.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quiver serve}: the OpenAI-compatible serving tier alone. It serves the adapters of
 * {@code --adapters-dir} and, sharing the control plane's database and data dir (as the Helm chart
 * runs it), the registry's adapters; it never runs fine-tuning jobs.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the base model and its adapters behind an OpenAI-compatible API.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServerOptions options;

    @Mixin
    ServingEngineOptions engine;

    @Option(names = "--adapters-dir", description = "Also serve every PEFT directory in here, by directory name.")
    Path adaptersDir;


    @Override
    public Integer call() throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put("quiver.jobs.scheduler.enabled", false);
        if (adaptersDir != null) {
            props.put("quiver.serving.adapters-dir", adaptersDir.toAbsolutePath().toString());
        }
        engine.addTo(props);
        return options.run("serve", props, false, spec.commandLine().getOut());
    }
}
