package dev.quiver.adapters.model;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsFile;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void missingTensorIsNamed() throws IOException {
        Path model = tinyModel();
        rewriteWeights(model, t -> t.name().equals("model.layers.1.mlp.up_proj.weight") ? null : t);
        assertThatThrownBy(() -> ModelDirectory.open(model)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("missing tensor 'model.layers.1.mlp.up_proj.weight' [192, 64]");
    }

    @Test
    void tensorWithTheWrongShapeIsNamed() throws IOException {
        Path model = tinyModel();
        rewriteWeights(model, t -> t.name().equals("model.norm.weight")
                ? Tensor.ofFloats(t.name(), DType.F32, new long[] {32}, new float[32]) : t);
        assertThatThrownBy(() -> ModelDirectory.open(model))
                .hasMessageContaining("tensor 'model.norm.weight' has shape [32], config.json implies [64]");
    }

    @Test
    void directoryWithoutWeightsSaysWhatIsExpected() throws IOException {
        Path model = tinyModel();
        Files.delete(model.resolve("model.safetensors"));
        assertThatThrownBy(() -> ModelDirectory.open(model))
                .hasMessageContaining("neither model.safetensors nor model.safetensors.index.json");
    }

    private Path tinyModel() throws IOException {
        Path model = dir.resolve("tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 5, DType.F32));
        return model;
    }

    /** Rewrites the checkpoint, replacing each tensor by {@code edit}'s result (null drops it). */
    private static void rewriteWeights(Path model, UnaryOperator<Tensor> edit) throws IOException {
        Path file = model.resolve("model.safetensors");
        List<Tensor> kept = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.tensors().keySet()) {
                Tensor t = Tensor.ofFloats(name, DType.F32, f.tensor(name).shape(), f.tensor(name).toFloats());
                Tensor edited = edit.apply(t);
                if (edited != null) {
                    kept.add(edited);
                }
            }
        }
        SafetensorsWriter.write(file, kept, Map.of());
    }
}
