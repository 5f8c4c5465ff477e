package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.quiver.finetune.model.CausalLm;
import org.junit.jupiter.api.Test;

class TrainingDeviceTest {
    private final Engine engine = Engine.getEngine(CausalLm.ENGINE);

    @Test
    void cpuIsTheDefaultAndAutoFallsBackToIt() {
        assertThat(TrainingDevice.resolve("cpu", engine)).isEqualTo(Device.cpu());
        if (engine.getGpuCount() == 0) {
            assertThat(TrainingDevice.resolve("auto", engine)).isEqualTo(Device.cpu());
        }
    }

    @Test
    void cudaWithoutAGpuSaysWhatToInstall() {
        if (engine.getGpuCount() > 0) {
            assertThat(TrainingDevice.resolve("cuda:0", engine)).isEqualTo(Device.gpu(0));
            return;
        }
        assertThatThrownBy(() -> TrainingDevice.resolve("cuda", engine))
                .hasMessageContaining("sees 0 GPU(s)")
                .hasMessageContaining("CUDA build of the PyTorch natives");
    }

    @Test
    void rejectsUnknownDevices() {
        assertThatThrownBy(() -> TrainingDevice.resolve("tpu", engine))
                .hasMessageContaining("not one of cpu, cuda, cuda:N, auto");
    }
}
