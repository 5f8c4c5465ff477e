package dev.quiver.adapters.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsFile;
import dev.quiver.adapters.safetensors.TensorInfo;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoModelMakerTest {
    @TempDir
    Path dir;

    @Test
    void generatedQwen3RoundTripsThroughTheRealLoader() throws IOException {
        Path out = dir.resolve("tiny-qwen3");
        ModelConfig written = DemoModelMaker.write(out, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7,
                DType.BF16));

        try (ModelDirectory model = ModelDirectory.open(out)) {
            ModelConfig c = model.config();
            assertThat(c).isEqualTo(written);
            assertThat(c.family()).isEqualTo(ModelFamily.QWEN3);
            assertThat(c.qkNorm()).isTrue();
            assertThat(c.tieWordEmbeddings()).isTrue();
            assertThat(c.parameterCount()).isBetween(100_000L, 1_000_000L);
            Map<String, long[]> expected = c.expectedWeights();
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                TensorInfo info = model.weights().info(e.getKey());
                assertThat(info.shape()).as(e.getKey()).containsExactly(e.getValue());
                assertThat(info.dtype()).as(e.getKey()).isEqualTo(DType.BF16);
            }
            assertThat(model.weights().names()).hasSize(expected.size());
            assertThat(model.eosTokenIds()).hasSize(2);
        }
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.tensor("model.norm.weight").toFloats()).containsOnly(1f);
        }

        try (Tokenizer tok = Tokenizer.load(out)) {
            assertThat(tok.vocabSize()).isEqualTo(written.vocabSize());
            String text = "Grüße, 世界! naïve café 🚀\n\tdone";
            assertThat(tok.decode(tok.encode(text))).isEqualTo(text);
            int endOfTurn = tok.tokenId("<|im_end|>").orElseThrow();
            assertThat(written.eosTokenIds()).containsExactly(endOfTurn);
        }
        String prompt = ChatTemplate.load(out).render(List.of(
                Map.of("role", "user", "content", "Classify: my invoice is wrong")), null, true);
        assertThat(prompt).isEqualTo("<|im_start|>user\nClassify: my invoice is wrong<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void generatedLlamaHasSeparateHeadAndLlama3RopeScaling() throws IOException {
        Path out = dir.resolve("tiny-llama");
        DemoModelMaker.write(out, new DemoModelMaker.Spec(ModelFamily.LLAMA, DemoSize.TINY, 7, DType.F32));
        try (ModelDirectory model = ModelDirectory.open(out)) {
            assertThat(model.config().family()).isEqualTo(ModelFamily.LLAMA);
            assertThat(model.config().tieWordEmbeddings()).isFalse();
            assertThat(model.config().ropeScaling().type()).isEqualTo("llama3");
            assertThat(model.weights().info("lm_head.weight").dtype()).isEqualTo(DType.F32);
        }
    }

    @Test
    void sameSeedGivesIdenticalWeightsAndAnotherSeedDiffers() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Path c = dir.resolve("c");
        DemoModelMaker.write(a, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 1, DType.BF16));
        DemoModelMaker.write(b, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 1, DType.BF16));
        DemoModelMaker.write(c, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 2, DType.BF16));
        byte[] wa = Files.readAllBytes(a.resolve("model.safetensors"));
        assertThat(Files.readAllBytes(b.resolve("model.safetensors"))).isEqualTo(wa);
        assertThat(Files.readAllBytes(c.resolve("model.safetensors"))).isNotEqualTo(wa);
        assertThat(Files.readString(b.resolve("tokenizer.json"))).isEqualTo(Files.readString(a.resolve("tokenizer.json")));
    }

    /**
     * The tied head must let a fine-tune reach a confident prediction: a unit-RMS hidden state aligned
     * with one token's embedding should give that token most of the probability mass.
     */
    @Test
    void tiedEmbeddingsAllowConfidentPredictions() throws IOException {
        Path out = dir.resolve("m");
        ModelConfig c = DemoModelMaker.write(out, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 3,
                DType.F32));
        try (ModelDirectory model = ModelDirectory.open(out)) {
            float[] emb = model.weights().tensor("model.embed_tokens.weight").toFloats();
            int d = c.hiddenSize();
            int target = 500;
            double norm = 0;
            for (int i = 0; i < d; i++) {
                norm += emb[target * d + i] * emb[target * d + i];
            }
            double[] h = new double[d];
            for (int i = 0; i < d; i++) {
                h[i] = Math.sqrt(d) * emb[target * d + i] / Math.sqrt(norm); // RMS 1, as after the final norm
            }
            double[] logits = new double[c.vocabSize()];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < logits.length; t++) {
                for (int i = 0; i < d; i++) {
                    logits[t] += h[i] * emb[t * d + i];
                }
                max = Math.max(max, logits[t]);
            }
            double sum = 0;
            for (double l : logits) {
                sum += Math.exp(l - max);
            }
            assertThat(Math.exp(logits[target] - max) / sum).isGreaterThan(0.9);
        }
    }

    @Test
    void refusesToOverwriteAnExistingDirectory() throws IOException {
        Path out = Files.createDirectories(dir.resolve("exists"));
        assertThatThrownBy(() -> DemoModelMaker.write(out, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 1,
                DType.BF16))).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }
}
