package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.testing.TestModels;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServingConfigTest {
    @TempDir
    Path tmp;

    private static ServingConfig withQuantize(String quantize) {
        return new ServingConfig(8, 2048, 8, 64, 0, 32, 64, null, 512, null, Duration.ofMillis(300), "cpu", quantize,
                null);
    }

    @Test
    void quantizeAcceptsNoneInt8AndInt4InAnyCase() {
        assertThat(withQuantize("none").quantization()).isEqualTo(Quantization.NONE);
        assertThat(withQuantize("INT8").quantization()).isEqualTo(Quantization.INT8);
        assertThat(withQuantize(" int4 ").quantization()).isEqualTo(Quantization.INT4);
    }

    @Test
    void anUnknownQuantizeNamesTheSettingAndTheAcceptedValues() {
        assertThatThrownBy(() -> withQuantize("fp8")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("quiver.serving.quantize (QUIVER_SERVING_QUANTIZE): quantize must be one of none, int8,"
                        + " int4; got 'fp8'");
    }

    @Test
    void thePrefillBudgetAndExecutionProviderBindFromConfiguration() throws Exception {
        Path model = TestModels.tiny(tmp, ModelFamily.QWEN3);
        try (ApplicationContext ctx = ApplicationContext.run(Map.of("quiver.base-model.path", model.toString(),
                "quiver.serving.threads", "1", "quiver.serving.prefill-budget", "150ms",
                "quiver.serving.execution-provider", "cpu"))) {
            ServingConfig config = ctx.getBean(ServingConfig.class);
            assertThat(config.prefillBudget()).isEqualTo(Duration.ofMillis(150));
            assertThat(config.prefillChunkTokens()).isEqualTo(512);
            assertThat(ctx.getBean(ServingEngine.class).engine().weightBytes()).isPositive();
        }
        try (ApplicationContext ctx = ApplicationContext.run(Map.of("quiver.base-model.path", model.toString()))) {
            assertThat(ctx.getBean(ServingConfig.class).prefillBudget()).isEqualTo(Duration.ofMillis(300));
            assertThat(ctx.getBean(ServingConfig.class).executionProvider()).isEqualTo("cpu");
        }
    }

    @Test
    void aServingTierAskedForCudaOnTheCpuBuildDoesNotStartAndSaysWhatToInstall() throws Exception {
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)); // the default build
        Path model = TestModels.tiny(tmp, ModelFamily.QWEN3);
        try (ApplicationContext ctx = ApplicationContext.run(Map.of("quiver.base-model.path", model.toString(),
                "quiver.serving.threads", "1", "quiver.serving.execution-provider", "cuda"))) {
            assertThatThrownBy(() -> ctx.getBean(ServingEngine.class))
                    .hasStackTraceContaining("execution provider cuda needs the onnxruntime_gpu build (mvn -Pgpu ...)");
        }
    }
}
