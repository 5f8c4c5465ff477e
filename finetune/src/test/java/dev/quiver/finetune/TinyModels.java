package dev.quiver.finetune;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Generated tiny model directories for tests, written under a test's temporary directory. */
public final class TinyModels {
    private TinyModels() {
    }

    public static Path qwen3(Path parent) throws IOException {
        return make(parent.resolve("tiny-qwen3"), ModelFamily.QWEN3, DType.F32);
    }

    public static Path llama(Path parent) throws IOException {
        return make(parent.resolve("tiny-llama"), ModelFamily.LLAMA, DType.F32);
    }

    public static Path make(Path dir, ModelFamily family, DType dtype) throws IOException {
        DemoModelMaker.write(dir, new DemoModelMaker.Spec(family, DemoSize.TINY, 7, dtype));
        return dir;
    }

    /**
     * A Qwen2 directory (q/k/v biases, no rope scaling) made from a tiny llama's weights plus random
     * biases, since the demo maker only writes qwen3 and llama.
     */
    public static Path qwen2(Path parent) throws IOException {
        Path llama = make(parent.resolve("llama-for-qwen2"), ModelFamily.LLAMA, DType.F32);
        Path dir = parent.resolve("tiny-qwen2");
        Files.createDirectories(dir);
        ModelConfig l = ModelConfig.load(llama);
        ModelConfig q = new ModelConfig(ModelFamily.QWEN2, l.hiddenSize(), l.numLayers(), l.numHeads(),
                l.numKvHeads(), l.headDim(), l.intermediateSize(), l.vocabSize(), l.maxPositionEmbeddings(),
                l.rmsNormEps(), 1_000_000.0, null, false, false, l.bosTokenId(), l.eosTokenIds(), DType.F32);
        q.write(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            Files.copy(llama.resolve(f), dir.resolve(f));
        }
        List<Tensor> tensors = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(11);
        try (Checkpoint weights = Checkpoint.open(llama)) {
            for (Map.Entry<String, long[]> e : q.expectedWeights().entrySet()) {
                if (e.getKey().endsWith(".bias")) {
                    float[] bias = new float[(int) e.getValue()[0]];
                    for (int i = 0; i < bias.length; i++) {
                        bias[i] = (float) (rnd.nextGaussian() * 0.5);
                    }
                    tensors.add(Tensor.ofFloats(e.getKey(), DType.F32, e.getValue(), bias));
                } else {
                    tensors.add(Tensor.ofFloats(e.getKey(), DType.F32, e.getValue(),
                            weights.tensor(e.getKey()).toFloats()));
                }
            }
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }
}
