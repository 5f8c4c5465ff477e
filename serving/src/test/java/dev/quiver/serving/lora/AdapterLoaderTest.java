package dev.quiver.serving.lora;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Precision;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterLoaderTest {
    private static final ModelConfig CONFIG = new ModelConfig(ModelFamily.QWEN3, 64, 2, 4, 2, 16, 192, 1024, 2048,
            1e-6, 1e6, null, true, false, null, List.of(1), DType.F32);
    private static final PoolFormat FORMAT = new PoolFormat(CONFIG, LoraLayout.allLinear(3, 8), Precision.FP32);

    @TempDir
    Path tmp;

    @Test
    void readsOnItsExecutorOncePerAdapterAndAnswersFromHostMemoryAfterwards() throws Exception {
        BlockingQueue<Runnable> reads = new LinkedBlockingQueue<>();
        AdapterRegistry registry = new AdapterRegistry(FORMAT, 1);
        for (String name : List.of("p", "q")) {
            TestModels.randomAdapter(CONFIG, 4, name.hashCode()).write(tmp.resolve(name), DType.F32);
            registry.register(name, tmp.resolve(name));
        }
        AdapterLoader loader = new AdapterLoader(registry, reads::add);
        assertThat(registry.inMemory("p")).isEmpty();

        CompletableFuture<PreparedAdapter> first = loader.load("p");
        CompletableFuture<PreparedAdapter> second = loader.load("p");
        assertThat(second).isSameAs(first).isNotDone();
        assertThat(reads).hasSize(1);
        reads.take().run();
        assertThat(first.join().modules()).hasSize(2 * ModelConfig.LINEAR_MODULES.size());
        assertThat(loader.load("p")).isCompletedWithValue(first.join());
        assertThat(reads).isEmpty();
    }

    @Test
    void aFailedReadNamesTheAdapterAndIsRetriedOnTheNextLoad() throws Exception {
        BlockingQueue<Runnable> reads = new LinkedBlockingQueue<>();
        AdapterRegistry registry = new AdapterRegistry(FORMAT, 1);
        Path dir = tmp.resolve("r");
        PeftAdapter weights = TestModels.randomAdapter(CONFIG, 4, 3);
        weights.write(dir, DType.F32);
        registry.register("r", dir);
        registry.forgetCached("r");
        Files.move(dir.resolve(PeftAdapter.WEIGHTS_FILE), tmp.resolve("moved.safetensors"));
        AdapterLoader loader = new AdapterLoader(registry, reads::add);

        CompletableFuture<PreparedAdapter> failing = loader.load("r");
        reads.take().run();
        Assertions.assertThatThrownBy(failing::join).isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(NoSuchFileException.class).hasMessageContaining(dir.toString());

        Files.move(tmp.resolve("moved.safetensors"), dir.resolve(PeftAdapter.WEIGHTS_FILE));
        CompletableFuture<PreparedAdapter> retry = loader.load("r");
        assertThat(retry).isNotSameAs(failing);
        reads.take().run();
        assertThat(retry.join().modules()).hasSize(2 * ModelConfig.LINEAR_MODULES.size());
    }
}
