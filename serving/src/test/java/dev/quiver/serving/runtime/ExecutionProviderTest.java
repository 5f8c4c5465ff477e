package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecutionProviderTest {
    @TempDir
    Path tmp;

    @Test
    void parsesCpuCudaAndACudaDeviceOrdinal() {
        assertThat(ExecutionProvider.parse("cpu")).isEqualTo(ExecutionProvider.CPU);
        assertThat(ExecutionProvider.parse(" CUDA ")).isEqualTo(new ExecutionProvider(ExecutionProvider.Kind.CUDA, 0));
        assertThat(ExecutionProvider.parse("cuda:1").deviceId()).isEqualTo(1);
        assertThat(ExecutionProvider.parse("cuda:1").label()).isEqualTo("cuda:1");
        for (String bad : new String[] {"gpu", "cuda:", "cuda:x", "cuda:-1", ""}) {
            assertThatThrownBy(() -> ExecutionProvider.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpu, cuda or cuda:N");
        }
    }

    @Test
    void aCpuBuildAskedForCudaSaysWhatToInstall() throws Exception {
        // this test runs on the default (CPU) ONNX Runtime build; under -Pgpu on a GPU machine it does not apply
        org.junit.jupiter.api.Assumptions.assumeFalse(ai.onnxruntime.OrtEnvironment.getAvailableProviders()
                .contains(ai.onnxruntime.OrtProvider.CUDA));
        Path model = TestModels.tiny(tmp, ModelFamily.QWEN3);
        assertThatThrownBy(() -> InferenceEngine.open(model, EngineSettings.builder().optMaxSequenceLength(32)
                .optLoraSlots(1).optMaxLoraRank(4).optThreads(1)
                .optExecutionProvider(ExecutionProvider.parse("cuda")).build()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("execution provider cuda needs the onnxruntime_gpu build (mvn -Pgpu ...) and a CUDA 12"
                        + " + cuDNN 9 runtime; this build has [CPU]");
    }
}
