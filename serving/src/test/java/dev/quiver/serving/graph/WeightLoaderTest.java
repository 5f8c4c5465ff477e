package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WeightLoaderTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Quantization.class, names = {"INT8", "INT4"})
    void stackedWeightsQuantizeRowForRowAsTheirParts(Quantization quantization) throws Exception {
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            WeightLoader weights = new WeightLoader(model.weights());
            List<String> names = List.of("model.layers.0.self_attn.q_proj.weight",
                    "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight");
            BlockQuantizer.Quantized stacked = weights.quantizedStack(names, quantization);
            int row = 0;
            for (String name : names) {
                BlockQuantizer.Quantized part = weights.quantized(name, quantization);
                assertThat(part.cols()).isEqualTo(stacked.cols());
                for (int r = 0; r < part.rows(); r++, row++) {
                    for (int c = 0; c < part.cols(); c++) {
                        assertThat(stacked.dequantize(row, c)).as("%s row %d col %d", name, r, c)
                                .isEqualTo(part.dequantize(r, c));
                    }
                }
            }
            assertThat(stacked.rows()).isEqualTo(row);
        }
    }

    @Test
    void refusesToStackWeightsOfDifferentWidths() throws Exception {
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.QWEN3))) {
            WeightLoader weights = new WeightLoader(model.weights());
            assertThatThrownBy(() -> weights.quantizedStack(List.of("model.layers.0.mlp.up_proj.weight",
                    "model.layers.0.mlp.down_proj.weight"), Quantization.INT8))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("only weights of one width stack: model.layers.0.mlp.down_proj.weight has");
        }
    }

    /** A mapped checkpoint's pages count in the process's resident size: a first start would peak at 2x. */
    @ParameterizedTest
    @EnumSource(value = Quantization.class, names = {"NONE", "INT8"})
    void compilesWithoutMappingTheCheckpoint(Quantization quantization) throws Exception {
        assumeTrue(ProcessMemory.mappingsReadable(), "needs Linux's /proc/self/smaps");
        Path dir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            CompiledDecoder compiled = new DecoderGraphCompiler(
                    CompileOptions.builder().optQuantization(quantization).build()).compile(model);
            assertThat(compiled.weightBytes()).isPositive();
            String checkpoint = dir.resolve(Checkpoint.SINGLE_FILE).toRealPath().toString();
            assertThat(ProcessMemory.mappings().stream().filter(m -> m.path().equals(checkpoint)))
                    .as("this process's mappings of the checkpoint").isEmpty();
        }
    }
}
