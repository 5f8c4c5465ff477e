package dev.quiver.finetune.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainBenchmarkTest {
    @TempDir
    Path tmp;

    @Test
    void reportsThroughputFlopsAndMatmulPeakAsOneJsonLine() throws Exception {
        String line = TrainBenchmark.run(TrainBenchmark.Options.parse("--size", "tiny", "--rank", "4", "--seq-len",
                "32", "--steps", "3", "--rows", "2", "--work-dir", tmp.toString()));
        System.out.println("bench train: " + line);

        assertThat(line).doesNotContain("\n");
        JsonNode j = new ObjectMapper().readTree(line);
        ModelConfig config = ModelConfig.load(tmp.resolve("tiny-qwen3"));
        // per layer r * (in + out) over q 64->64, k and v 64->32, o 64->64, gate and up 64->192, down 192->64
        long lora = 2L * 4 * (128 + 96 + 96 + 128 + 256 + 256 + 256);
        assertThat(j.get("trainable_params").asLong()).isEqualTo(lora);
        assertThat(j.get("total_params").asLong()).isEqualTo(config.parameterCount() + lora);
        assertThat(j.get("tokens_per_step").asInt()).isEqualTo(64);
        assertThat(j.get("tokens_per_second").asDouble()).isPositive();
        assertThat(j.get("matmul_peak_gflops").asDouble()).isPositive();
        assertThat(j.get("achieved_gflops").asDouble()).isPositive();
        assertThat(j.get("fraction_of_matmul_peak").asDouble())
                .isCloseTo(j.get("achieved_gflops").asDouble() / j.get("matmul_peak_gflops").asDouble(), within(2e-3));
        assertThat(j.get("peak_rss_mb").asLong()).isPositive();
        assertThat(j.get("threads").asInt()).isPositive();
        assertThat(j.get("flops_formula").asText()).startsWith("4*P*T + 6*P_lora*T");
        assertThat(j.get("loss_first").asDouble()).isPositive();
        assertThat(j.get("device").asText()).isEqualTo("cpu");
    }

    @Test
    void aGpuDeviceWithoutACudaBuildOfPyTorchIsAClearError() {
        // the CPU natives see no GPU: the benchmark names the device and what to install, before any work
        assumeTrue(Engine.getEngine("PyTorch").getGpuCount() == 0);
        assertThatThrownBy(() -> TrainBenchmark.run(TrainBenchmark.Options.parse("--size", "tiny", "--work-dir",
                tmp.toString(), "--device", "cuda"))).hasMessageContaining("device 'cuda' asked for GPU 0")
                .hasMessageContaining("--device cpu");
    }

    @Test
    void flopCountFollowsTheStatedFormula() {
        ModelConfig tiny = new ModelConfig(ModelFamily.QWEN3, 64, 2, 4, 2, 16, 192, 1000,
                2048, 1e-6, 1e6, null, true, false, null, List.of(1), DType.F32);
        TrainingFlops f = TrainingFlops.of(tiny, 8, ModelConfig.LINEAR_MODULES);
        long linear = 2L * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 192);
        assertThat(f.linearParams()).isEqualTo(linear);
        assertThat(f.loraParams()).isEqualTo(2L * 8 * 1216);
        double expected = 4.0 * linear * 100 + 6.0 * f.loraParams() * 100 + 12.0 * 2 * 2 * 50 * 50 * 64
                + 4.0 * 1000 * 64 * 98;
        assertThat(f.perStep(2, 50, 98)).isEqualTo(expected);
        assertThat(TrainingFlops.of(tiny, 8, List.of("q_proj")).loraParams()).isEqualTo(2L * 8 * 128);
    }

    @Test
    void optionsRejectNonsenseWithTheFlagNames() {
        assertThat(TrainBenchmark.Options.parse().size()).isEqualTo(DemoSize.SMALL);
        assertThat(TrainBenchmark.Options.parse().rank()).isEqualTo(16);
        assertThat(TrainBenchmark.Options.parse().seqLen()).isEqualTo(512);
        assertThatThrownBy(() -> TrainBenchmark.Options.parse("--ranks", "4")).hasMessageContaining("--ranks");
        assertThatThrownBy(() -> TrainBenchmark.Options.parse("--steps", "0")).hasMessageContaining("steps 0");
        assertThatThrownBy(() -> TrainBenchmark.Options.parse("--size")).hasMessageContaining("--size needs a value");
    }
}
