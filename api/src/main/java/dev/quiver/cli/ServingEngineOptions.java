package dev.quiver.cli;

import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.ExecutionProvider;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options of the roles that run the serving engine ({@code server}, {@code serve}). */
final class ServingEngineOptions {
    @Option(names = "--execution-provider", defaultValue = "${env:QUIVER_SERVING_EXECUTION_PROVIDER:-cpu}",
            description = "Where the engine runs: cpu, or cuda[:DEVICE] with the GPU build (mvn -Pgpu) and a CUDA 12"
                    + " + cuDNN 9 runtime (default: ${DEFAULT-VALUE}).")
    String executionProvider;

    @Option(names = "--quantize", converter = QuantizationConverter.class,
            description = "Base weights as none (fp32), int8 or int4 (weight-only blocks; adapters stay fp32);"
                    + " default: quiver.serving.quantize, int8.")
    Quantization quantize;

    /** Adds these options to a role's properties; a misspelt provider fails here, before anything starts. */
    void addTo(Map<String, Object> props) {
        props.put("quiver.serving.execution-provider", ExecutionProvider.parse(executionProvider).label());
        if (quantize != null) {
            props.put("quiver.serving.quantize", quantize.label());
        }
    }

    /** Parses {@code --quantize}: an unknown value is refused naming the accepted ones. */
    static final class QuantizationConverter implements CommandLine.ITypeConverter<Quantization> {
        @Override
        public Quantization convert(String value) {
            try {
                return Quantization.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
