package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.ExternalTensor;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecoderSessionTest {
    @TempDir
    Path tmp;

    private CompiledDecoder compile() throws Exception {
        try (ModelDirectory model = ModelDirectory.open(TestModels.tiny(tmp, ModelFamily.LLAMA))) {
            return new DecoderGraphCompiler(CompileOptions.builder().optMaxSequenceLength(16)
                    .optLora(LoraLayout.allLinear(2, 4)).build()).compile(model);
        }
    }

    @Test
    void theSessionOwnsItsWeightsSoTheCompiledBuffersCanBeFreed() throws Exception {
        CompiledDecoder decoder = compile();
        try (DecoderSession session = DecoderSession.open(decoder, 1, 1)) {
            float[] before = session.run(StepBatch.prefill(0, new int[] {1, 2, 3}, 0, 0, false))[0][0];
            for (ExternalTensor weights : decoder.initializers().values()) {
                for (int i = 0; i < weights.bytes().capacity(); i++) {
                    weights.bytes().put(i, (byte) 0);
                }
            }
            float[] after = session.run(StepBatch.prefill(0, new int[] {1, 2, 3}, 0, 0, false))[0][0];
            assertThat(after).containsExactly(before);
        }
    }

    @Test
    void refusesStepsBeyondTheCompiledLengthOrVocabulary() throws Exception {
        try (DecoderSession session = DecoderSession.open(compile(), 2, 1)) {
            assertThatThrownBy(() -> session.run(StepBatch.prefill(0, new int[17], 0, 0, false)))
                    .hasMessageContaining("17 positions, above the compiled max sequence length 16");
            assertThatThrownBy(() -> session.run(StepBatch.prefill(0, new int[] {1, 999_999}, 0, 0, false)))
                    .hasMessageContaining("token id 999999").hasMessageContaining("vocabulary");
            assertThatThrownBy(() -> session.run(StepBatch.prefill(2, new int[] {1}, 0, 0, false)))
                    .hasMessageContaining("outside the cache's 2 rows");
            assertThatThrownBy(() -> session.run(new StepBatch(0, new int[][] {{1, 2}, {3, 4}}, new int[] {1, 1},
                    new int[] {0, 0}, new int[][] {{1}, {1}}))).hasMessageContaining("single row");
        }
    }

    @Test
    void stepsWithOneLogitPositionReadTheSameLogitsFromThePinnedBufferAtEveryBatchSize() throws Exception {
        try (DecoderSession session = DecoderSession.open(compile(), 2, 1)) {
            // references from steps with every position's logits, which ONNX Runtime allocates
            float[][] first = session.run(StepBatch.prefill(0, new int[] {1, 2, 3, 4, 9}, 0, 0, true))[0];
            float[][] second = session.run(StepBatch.prefill(1, new int[] {5, 6, 7, 8}, 0, 0, true))[0];

            StepLogits prefill = session.step(StepBatch.prefill(0, new int[] {1, 2, 3}, 0, 0, false));
            assertThat(prefill.rows()).isEqualTo(1);
            assertClose(row(prefill, 0), first[2]);
            session.step(StepBatch.prefill(1, new int[] {5, 6, 7}, 0, 0, false));
            StepLogits both = session.step(StepBatch.decode(new int[] {4, 8}, new int[] {3, 3}, new int[] {0, 0}));
            assertThat(both.rows()).isEqualTo(2);
            assertClose(row(both, 0), first[3]);
            assertClose(row(both, 1), second[3]);
            StepLogits one = session.step(StepBatch.decode(new int[] {9}, new int[] {4}, new int[] {0}));
            assertThat(one.rows()).isEqualTo(1);
            assertClose(row(one, 0), first[4]);
            // run's copy outlives the next step, which overwrites the pinned buffer
            float[][][] kept = session.run(StepBatch.decode(new int[] {9}, new int[] {4}, new int[] {0}));
            session.step(StepBatch.decode(new int[] {4}, new int[] {3}, new int[] {0}));
            assertClose(kept[0][0], first[4]);
        }
    }

    private static float[] row(StepLogits logits, int r) {
        float[] out = new float[logits.vocab()];
        logits.copy(r, 0, out);
        return out;
    }

    private static void assertClose(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("logit %d", i).isCloseTo(expected[i], within(1e-4f));
        }
    }
}
