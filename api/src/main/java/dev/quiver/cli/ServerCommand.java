package dev.quiver.cli;

import dev.quiver.serving.graph.Quantization;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
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

    @Option(names = "--quantize", converter = ServerOptions.QuantizationConverter.class,
            description = "Base weights as none (fp32), int8 or int4 (weight-only blocks; adapters stay fp32);"
                    + " default: quiver.serving.quantize, none.")
    Quantization quantize;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> props = new HashMap<>();
        ServerOptions.quantize(props, quantize);
        return options.run("server", props, true, spec.commandLine().getOut());
    }
}
