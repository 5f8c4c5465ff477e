package dev.quiver.serving.lora;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Precision;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterRegistryTest {
    private static final ModelConfig CONFIG = new ModelConfig(ModelFamily.QWEN3, 64, 2, 4, 2, 16, 192, 1024, 2048,
            1e-6, 1e6, null, true, false, null, List.of(1), DType.F32);
    private static final PoolFormat FORMAT = new PoolFormat(CONFIG, LoraLayout.allLinear(3, 8), Precision.FP32);

    @TempDir
    Path tmp;

    @Test
    void registeringReadsTheDirectoryOnceAndTheHostCacheAnswersLaterLoads() throws Exception {
        AdapterRegistry registry = new AdapterRegistry(FORMAT, 2);
        PeftAdapter weights = TestModels.randomAdapter(CONFIG, 4, 5);
        weights.write(tmp.resolve("p"), DType.F32);

        registry.register("p", tmp.resolve("p"));
        assertThat(registry.reads()).isEqualTo(1);
        assertThat(registry.load("p").modules()).hasSize(weights.weights().size());
        assertThat(registry.load("p")).isSameAs(registry.load("p"));
        assertThat(registry.reads()).as("loads from the host cache read nothing").isEqualTo(1);

        registry.forgetCached("p");
        registry.load("p");
        assertThat(registry.reads()).as("a load after the cache dropped it reads again").isEqualTo(2);
    }

    @Test
    void anAdapterRegisteredInMemoryIsNeverRead() throws Exception {
        AdapterRegistry registry = new AdapterRegistry(FORMAT, 1);
        registry.register("m", TestModels.randomAdapter(CONFIG, 4, 6));
        registry.load("m");
        assertThat(registry.reads()).isZero();
    }
}
