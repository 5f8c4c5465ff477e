package dev.quiver.cli;

import dev.quiver.serving.runtime.ExecutionProvider;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options of the roles that run the serving engine ({@code server}, {@code serve}). */
final class ServingEngineOptions {
    @Option(names = "--execution-provider", defaultValue = "${env:QUIVER_SERVING_EXECUTION_PROVIDER:-cpu}",
            description = "Where the engine runs: cpu, or cuda[:DEVICE] with the GPU build (mvn -Pgpu) and a CUDA 12"
                    + " + cuDNN 9 runtime (default: ${DEFAULT-VALUE}).")
    String executionProvider;

    /** Adds these options to a role's properties; a misspelt provider fails here, before anything starts. */
    void addTo(Map<String, Object> props) {
        props.put("quiver.serving.execution-provider", ExecutionProvider.parse(executionProvider).label());
    }
}
