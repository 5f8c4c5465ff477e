package dev.quiver.finetune.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDScope;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.AdapterFormatException;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.finetune.TinyModels;
import dev.quiver.finetune.data.Batch;
import dev.quiver.finetune.data.BatchCollator;
import dev.quiver.finetune.data.EncodedExample;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CausalLmTest {
    private static final double TOLERANCE = 1e-4;
    private static final int[] TOKENS = {5, 300, 17, 1000, 42, 7, 512, 64, 999, 3, 250, 128, 77, 600, 1, 900};

    @TempDir
    Path tmp;

    @Test
    void qwen3LogitsMatchTransformersMathWrittenOutInJava() throws IOException {
        assertMatchesReference(TinyModels.qwen3(tmp), null);
    }

    @Test
    void llamaWithSeparateHeadAndLlama3RopeScalingMatchesReference() throws IOException {
        assertMatchesReference(TinyModels.llama(tmp), null);
    }

    @Test
    void qwen2WithAttentionBiasMatchesReference() throws IOException {
        Path dir = TinyModels.qwen2(tmp);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            assertThat(model.config().qkvBias()).isTrue();
        }
        assertMatchesReference(dir, null);
    }

    @Test
    void loraDeltaOnEveryLinearLayerMatchesReference() throws IOException {
        Path dir = TinyModels.qwen3(tmp);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            assertMatchesReference(dir, randomAdapter(model.config(), false));
            assertMatchesReference(dir, randomAdapter(model.config(), true));
        }
    }

    @Test
    void bf16WeightsAreWidenedAndMatchReference() throws IOException {
        assertMatchesReference(TinyModels.make(tmp.resolve("bf16"), ModelFamily.QWEN3, DType.BF16), null);
    }

    @Test
    void adapterWithZeroBGivesBitIdenticalLogits() throws IOException {
        try (ModelDirectory dir = ModelDirectory.open(TinyModels.qwen3(tmp)); CausalLm lm = CausalLm.load(dir)) {
            PeftAdapter adapter = randomAdapter(dir.config(), false);
            Map<String, LoraWeights> zeroB = new LinkedHashMap<>();
            adapter.weights().forEach((k, w) -> zeroB.put(k, new LoraWeights(k, w.rank(), w.in(), w.out(), w.a(),
                    new float[w.b().length])));
            float[][] base = lm.logits(TOKENS, null);
            float[][] step0 = lm.logits(TOKENS, new PeftAdapter(adapter.config(), zeroB));
            assertThat(step0).isDeepEqualTo(base);
        }
    }

    @Test
    void packedRowsGiveTheSameLossAsPaddedRows() throws IOException {
        List<EncodedExample> examples = List.of(
                example(new int[] {5, 6, 7, 8, 9, 10, 11}, 3),
                example(new int[] {20, 21, 22, 23}, 2),
                example(new int[] {30, 31, 32, 33, 34}, 1));
        Batch padded = single(new BatchCollator(4096, false, 64).collate(examples));
        Batch packed = single(new BatchCollator(4096, true, 64).collate(examples));
        assertThat(padded.tokens().rows()).isEqualTo(3);
        assertThat(packed.tokens().rows()).isEqualTo(1);
        assertThat(packed.targetCount()).isEqualTo(padded.targetCount()).isEqualTo(3 + 2 + 1);
        try (ModelDirectory dir = ModelDirectory.open(TinyModels.llama(tmp)); CausalLm lm = CausalLm.load(dir);
             NDScope scope = new NDScope()) {
            TargetLoss a = lm.targetLoss(padded.tokens(), padded.targets(), LoraTensors.none(), false);
            TargetLoss b = lm.targetLoss(packed.tokens(), packed.targets(), LoraTensors.none(), false);
            assertThat((double) b.sum().getFloat()).isCloseTo(a.sum().getFloat(),
                    org.assertj.core.data.Offset.offset(1e-4));
            assertThat(b.correct()).isEqualTo(a.correct());
        }
    }

    @Test
    void rejectsAdapterOfAnotherShape() throws IOException {
        try (ModelDirectory dir = ModelDirectory.open(TinyModels.qwen3(tmp)); CausalLm lm = CausalLm.load(dir)) {
            String path = ModelConfig.modulePath(0, "q_proj");
            PeftAdapter wrong = new PeftAdapter(LoraConfig.of(2, 4, false, List.of("q_proj"), 0, "x"),
                    Map.of(path, new LoraWeights(path, 2, 32, 64, new float[64], new float[128])));
            assertThatThrownBy(() -> lm.logits(TOKENS, wrong)).isInstanceOf(AdapterFormatException.class)
                    .hasMessageContaining("q_proj.lora_A.weight has shape [2, 32]");
        }
    }

    private static void assertMatchesReference(Path dir, PeftAdapter adapter) throws IOException {
        try (ModelDirectory model = ModelDirectory.open(dir); CausalLm lm = CausalLm.load(model)) {
            float[][] expected = new ReferenceTransformer(model).logits(TOKENS, adapter);
            float[][] actual = lm.logits(TOKENS, adapter);
            assertThat(actual.length).isEqualTo(TOKENS.length);
            double worst = 0;
            for (int t = 0; t < TOKENS.length; t++) {
                assertThat(actual[t]).hasSize(model.config().vocabSize());
                for (int i = 0; i < actual[t].length; i++) {
                    worst = Math.max(worst, Math.abs(actual[t][i] - expected[t][i]));
                }
            }
            assertThat(worst).as("largest logit difference").isLessThan(TOLERANCE);
            // a forward that ignored layers would still be close; make sure the logits are not trivial
            assertThat(Math.abs(expected[3][5] - expected[3][6])).isGreaterThan(1e-3f);
        }
    }

    private static PeftAdapter randomAdapter(ModelConfig c, boolean rslora) {
        LoraConfig config = LoraConfig.of(4, 8, rslora, ModelConfig.LINEAR_MODULES, 0, "tiny");
        SplittableRandom rnd = new SplittableRandom(3);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < c.numLayers(); l++) {
            for (String m : ModelConfig.LINEAR_MODULES) {
                String path = ModelConfig.modulePath(l, m);
                ModelConfig.LinearShape s = c.linear(m);
                weights.put(path, new LoraWeights(path, 4, s.in(), s.out(), gaussian(rnd, 4 * s.in(), 0.1),
                        gaussian(rnd, s.out() * 4, 0.1)));
            }
        }
        return new PeftAdapter(config, weights);
    }

    private static float[] gaussian(SplittableRandom rnd, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rnd.nextGaussian() * std);
        }
        return out;
    }

    /** An example whose last {@code learned} tokens are targets. */
    private static EncodedExample example(int[] ids, int learned) {
        boolean[] targets = new boolean[ids.length];
        for (int i = ids.length - learned; i < ids.length; i++) {
            targets[i] = true;
        }
        return new EncodedExample(1, ids, targets, false);
    }

    private static Batch single(List<Batch> batches) {
        assertThat(batches).hasSize(1);
        return batches.get(0);
    }
}
