package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.ForwardPass;
import dev.quiver.serving.runtime.StepBatch;
import dev.quiver.serving.testing.ReferenceDecoder;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DecoderGraphReferenceTest {
    private static final double TOLERANCE = 1e-4;
    private static final int[] TOKENS = {5, 300, 17, 999, 42, 640, 3, 77, 512, 8};

    @TempDir
    static Path tmp;

    static Stream<Arguments> models() {
        return Stream.of(Arguments.of("qwen3"), Arguments.of("llama"), Arguments.of("qwen2"));
    }

    private static Path model(String family) throws Exception {
        Path dir = tmp.resolve(family + "-tiny");
        if (dir.toFile().exists()) {
            return dir;
        }
        return switch (family) {
            case "qwen3" -> TestModels.tiny(tmp, ModelFamily.QWEN3);
            case "llama" -> TestModels.tiny(tmp, ModelFamily.LLAMA);
            default -> TestModels.tinyQwen2(tmp);
        };
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void prefillLogitsEqualTheReferenceForwardWithAndWithoutAdapter(String family) throws Exception {
        Path dir = model(family);
        try (ModelDirectory model = ModelDirectory.open(dir);
             ForwardPass forward = ForwardPass.open(dir, 64, 8)) {
            ReferenceDecoder reference = new ReferenceDecoder(model);
            PeftAdapter adapter = TestModels.randomAdapter(model.config(), 4, 99);

            float[][] base = forward.logits(TOKENS, null);
            float[][] expectedBase = reference.logits(TOKENS, null);
            assertThat(TestModels.maxAbsDiff(base, expectedBase)).isLessThan(TOLERANCE);

            float[][] adapted = forward.logits(TOKENS, adapter);
            float[][] expectedAdapted = reference.logits(TOKENS, adapter);
            assertThat(TestModels.maxAbsDiff(adapted, expectedAdapted)).isLessThan(TOLERANCE);
            // the adapter must matter, or the comparison above proves nothing about the LoRA branch
            assertThat(TestModels.maxAbsDiff(expectedAdapted, expectedBase)).isGreaterThan(0.05);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void incrementalDecodeWithTheKvCacheEqualsTheFullSequenceLogits(String family) throws Exception {
        Path dir = model(family);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            ReferenceDecoder reference = new ReferenceDecoder(model);
            PeftAdapter adapter = TestModels.randomAdapter(model.config(), 4, 5);
            float[][] expected = reference.logits(TOKENS, adapter);
            CompiledDecoder decoder = new DecoderGraphCompiler(CompileOptions.builder().optMaxSequenceLength(32)
                    .optLora(LoraLayout.allLinear(3, 8)).build()).compile(model);
            try (DecoderSession session = DecoderSession.open(decoder, 2, 2)) {
                TestModels.write(session.loraPools(), 2, "x", adapter);
                int prompt = 4;
                // row 1, so a row offset into the cache is exercised too
                float[][] prefill = session.run(StepBatch.prefill(1, Arrays.copyOf(TOKENS, prompt), 0, 2, true))[0];
                for (int t = 0; t < prompt; t++) {
                    assertThat(TestModels.maxAbsDiff(prefill[t], expected[t])).as("prefill position %d", t)
                            .isLessThan(TOLERANCE);
                }
                for (int t = prompt; t < TOKENS.length; t++) {
                    float[] step = session.run(new StepBatch(1, new int[][] {{TOKENS[t]}}, new int[] {t},
                            new int[] {2}, new int[][] {{0}}))[0][0];
                    assertThat(TestModels.maxAbsDiff(step, expected[t])).as("decode position %d", t)
                            .isLessThan(TOLERANCE);
                }
            }
        }
    }
}
