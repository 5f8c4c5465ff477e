package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
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
        // the default build; under -Pgpu the next test applies instead
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA));
        assertThatThrownBy(() -> openOnCuda(TestModels.tiny(tmp, ModelFamily.QWEN3)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("execution provider cuda needs the onnxruntime_gpu build (mvn -Pgpu ...) and a CUDA 12"
                        + " + cuDNN 9 runtime; this build has [CPU]");
    }

    @Test
    void theGpuBuildWithoutACudaRuntimeSaysWhatIsMissing() throws Exception {
        // the -Pgpu build on a machine without CUDA 12 / cuDNN 9 (or without GPU 0): the provider cannot load
        assumeTrue(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA));
        Path model = TestModels.tiny(tmp, ModelFamily.QWEN3);
        try {
            openOnCuda(model).close();
            assumeTrue(false, "a CUDA device opened: this machine has the GPU runtime");
        } catch (IllegalStateException e) {
            assertThat(e).hasMessageStartingWith("execution provider cuda could not open CUDA device 0: this is the"
                    + " onnxruntime_gpu build ([CPU, CUDA").hasMessageContaining("needs a CUDA 12 + cuDNN 9 runtime")
                    .hasMessageContaining("ONNX Runtime said: ");
        }
    }

    private static InferenceEngine openOnCuda(Path model) throws Exception {
        return InferenceEngine.open(model, EngineSettings.builder().optMaxSequenceLength(32).optLoraSlots(1)
                .optMaxLoraRank(4).optThreads(1).optExecutionProvider(ExecutionProvider.parse("cuda")).build());
    }
}
