package dev.quiver.finetune;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/**
 * Resolves the device option. CUDA needs nothing from the code but PyTorch natives built for CUDA on
 * the classpath (or in the DJL cache) instead of the CPU ones, of the same PyTorch version.
 */
public final class TrainingDevice {
    private TrainingDevice() {
    }

    /** {@code cpu}, {@code cuda} / {@code gpu}, {@code cuda:N} / {@code gpu:N}, or {@code auto} (a GPU if any). */
    public static Device resolve(String option, Engine engine) {
        String o = option.trim().toLowerCase(Locale.ROOT);
        if (o.equals("cpu")) {
            return Device.cpu();
        }
        int gpus = engine.getGpuCount();
        if (o.equals("auto")) {
            return gpus > 0 ? Device.gpu() : Device.cpu();
        }
        int index;
        if (o.equals("cuda") || o.equals("gpu")) {
            index = 0;
        } else if (o.matches("(cuda|gpu):\\d+")) {
            index = Integer.parseInt(o.substring(o.indexOf(':') + 1));
        } else {
            throw new IllegalArgumentException("device '" + option + "' is not one of cpu, cuda, cuda:N, auto");
        }
        if (index >= gpus) {
            throw new IllegalArgumentException("device '" + option + "' asked for GPU " + index + " but PyTorch "
                    + engine.getVersion() + " sees " + gpus + " GPU(s); use a CUDA build of the PyTorch natives"
                    + " (DJL's pytorch-native-cuXXX of version " + engine.getVersion()
                    + ", or PYTORCH_FLAVOR with a pre-filled ~/.djl.ai cache) or --device cpu");
        }
        return Device.gpu(index);
    }
}
