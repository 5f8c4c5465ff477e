package dev.quiver.parity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.serving.runtime.ForwardPass;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The two engines must agree: for the same base, adapter and tokens, the DJL trainer's logits and the
 * ONNX serving graph's logits are equal to 1e-4 (fp32), so what was trained is what is served.
 */
class EngineParityTest {
    private static final double TOLERANCE = 1e-4;
    private static final int[] TOKENS = {5, 300, 17, 901, 64, 2, 511, 78, 1000, 33, 12, 640};

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = ModelFamily.class, names = {"QWEN3", "LLAMA"})
    void trainerAndServingLogitsAgreeForBaseAndAdapter(ModelFamily family) throws IOException {
        Path model = dir.resolve(family.modelType());
        ModelConfig config = DemoModelMaker.write(model, new DemoModelMaker.Spec(family, DemoSize.TINY, 3, DType.BF16));
        PeftAdapter adapter = randomAdapter(config, 8, 3);

        float[][] trainedBase;
        float[][] trainedAdapted;
        try (ModelDirectory modelDir = ModelDirectory.open(model); CausalLm lm = CausalLm.load(modelDir)) {
            trainedBase = lm.logits(TOKENS, null);
            trainedAdapted = lm.logits(TOKENS, adapter);
        }
        float[][] servedBase;
        float[][] servedAdapted;
        try (ForwardPass graph = ForwardPass.open(model)) {
            servedBase = graph.logits(TOKENS, null);
            servedAdapted = graph.logits(TOKENS, adapter);
        }

        assertThat(maxAbsDiff(trainedBase, servedBase)).isLessThanOrEqualTo(TOLERANCE);
        assertThat(maxAbsDiff(trainedAdapted, servedAdapted)).isLessThanOrEqualTo(TOLERANCE);
        // the adapter really changes the answer, so agreement is not agreement on the base alone
        assertThat(maxAbsDiff(trainedBase, trainedAdapted)).isGreaterThan(0.05);
    }

    /** An all-linear adapter with nonzero A and B, so every LoRA branch contributes. */
    private static PeftAdapter randomAdapter(ModelConfig config, int rank, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : ModelConfig.LINEAR_MODULES) {
                ModelConfig.LinearShape s = config.linear(m);
                float[] a = new float[rank * s.in()];
                float[] b = new float[s.out() * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (rnd.nextGaussian() * 0.1);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (rnd.nextGaussian() * 0.1);
                }
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, s.in(), s.out(), a, b));
            }
        }
        return new PeftAdapter(LoraConfig.of(rank, 2.0 * rank, false, ModelConfig.LINEAR_MODULES, 0, null), weights);
    }

    private static double maxAbsDiff(float[][] a, float[][] b) {
        assertThat(a.length).isEqualTo(b.length);
        double max = 0;
        for (int t = 0; t < a.length; t++) {
            assertThat(a[t].length).isEqualTo(b[t].length);
            for (int v = 0; v < a[t].length; v++) {
                max = Math.max(max, Math.abs(a[t][v] - b[t][v]));
            }
        }
        return max;
    }
}
