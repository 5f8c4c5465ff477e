package dev.quiver.serving.lora;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.StepBatch;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultiLoraBatchTest {
    private static final int[] PROMPT_A = {11, 200, 31, 400, 52};
    private static final int[] PROMPT_B = {600, 7, 88, 901, 23};
    private static final int[] NEXT_A = {77, 123, 9};
    private static final int[] NEXT_B = {5, 64, 700};

    @TempDir
    static Path tmp;
    static ModelConfig config;
    static DecoderSession session;
    static PeftAdapter x;
    static PeftAdapter y;

    @BeforeAll
    static void compile() throws Exception {
        Path dir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            config = model.config();
            CompiledDecoder decoder = new DecoderGraphCompiler(CompileOptions.builder().optMaxSequenceLength(32)
                    .optLora(LoraLayout.allLinear(4, 8)).build()).compile(model);
            session = DecoderSession.open(decoder, 3, 2);
        }
        x = TestModels.randomAdapter(config, 4, 1);
        // a different rank and fewer modules: zero padding and untargeted modules are exercised
        y = TestModels.randomAdapter(config, 8, 16.0, 2, List.of("q_proj", "v_proj", "down_proj"));
    }

    @AfterAll
    static void close() throws Exception {
        session.close();
    }

    /** Logits of {@code prompt} then each of {@code next}, alone in KV row 0. */
    private static float[][] alone(int[] prompt, int[] next, int slot) throws Exception {
        float[][] out = new float[next.length + 1][];
        out[0] = session.run(StepBatch.prefill(0, prompt, 0, slot, false))[0][0];
        for (int i = 0; i < next.length; i++) {
            out[i + 1] = session.run(StepBatch.decode(new int[] {next[i]}, new int[] {prompt.length + i},
                    new int[] {slot}))[0][0];
        }
        return out;
    }

    /** Logits of the two sequences decoded together in one batch (rows 0 and 1). */
    private static float[][][] together(int slotA, int slotB) throws Exception {
        float[][][] out = new float[2][NEXT_A.length + 1][];
        out[0][0] = session.run(StepBatch.prefill(0, PROMPT_A, 0, slotA, false))[0][0];
        out[1][0] = session.run(StepBatch.prefill(1, PROMPT_B, 0, slotB, false))[0][0];
        for (int i = 0; i < NEXT_A.length; i++) {
            float[][][] step = session.run(StepBatch.decode(new int[] {NEXT_A[i], NEXT_B[i]},
                    new int[] {PROMPT_A.length + i, PROMPT_B.length + i}, new int[] {slotA, slotB}));
            out[0][i + 1] = step[0][0];
            out[1][i + 1] = step[1][0];
        }
        return out;
    }

    @Test
    void aBatchMixingAnAdapterAndTheBaseGivesEachRowItsOwnLogits() throws Exception {
        TestModels.write(session.loraPools(), 1, "x", x);
        TestModels.write(session.loraPools(), 2, "y", y);
        float[][] xAlone = alone(PROMPT_A, NEXT_A, 1);
        float[][] baseAlone = alone(PROMPT_B, NEXT_B, 0);
        float[][] yAlone = alone(PROMPT_B, NEXT_B, 2);

        float[][][] xWithBase = together(1, 0);
        assertThat(TestModels.maxAbsDiff(xWithBase[0], xAlone)).isLessThan(1e-5);
        assertThat(TestModels.maxAbsDiff(xWithBase[1], baseAlone)).isLessThan(1e-5);

        float[][][] xWithY = together(1, 2);
        assertThat(TestModels.maxAbsDiff(xWithY[0], xAlone)).isLessThan(1e-5);
        assertThat(TestModels.maxAbsDiff(xWithY[1], yAlone)).isLessThan(1e-5);
        assertThat(TestModels.maxAbsDiff(yAlone, baseAlone)).isGreaterThan(0.01);
    }

    @Test
    void loadingAnAdapterIntoASlotChangesOnlyTheRowsThatUseIt() throws Exception {
        TestModels.write(session.loraPools(), 1, "x", x);
        session.loraPools().clear(3);
        float[][][] before = together(1, 0);
        float[][] slot3Before = alone(PROMPT_B, NEXT_B, 3);

        TestModels.write(session.loraPools(), 3, "y", y);
        float[][][] after = together(1, 0);
        float[][] slot3After = alone(PROMPT_B, NEXT_B, 3);

        assertThat(TestModels.maxAbsDiff(after[0], before[0])).isZero();
        assertThat(TestModels.maxAbsDiff(after[1], before[1])).isZero();
        assertThat(TestModels.maxAbsDiff(slot3Before, before[1])).as("an empty slot runs the base").isZero();
        assertThat(TestModels.maxAbsDiff(slot3After, slot3Before)).isGreaterThan(0.01);
    }

    @Test
    void evictingAndReloadingAnAdapterGivesIdenticalResults() throws Exception {
        AdapterRegistry registry = new AdapterRegistry(session.loraPools().format(), 4);
        registry.register("x", x);
        registry.register("y", y);
        AdapterSlots slots = new AdapterSlots(session.loraPools(), registry);
        int sx = slots.acquire("x");
        float[][] first = alone(PROMPT_A, NEXT_A, sx);
        slots.release(sx);
        assertThat(slots.evict("x")).isTrue();
        assertThat(slots.resident()).doesNotContainValue("x");
        float[][] evicted = alone(PROMPT_A, NEXT_A, sx);
        int sy = slots.acquire("y");
        int again = slots.acquire("x");
        float[][] reloaded = alone(PROMPT_A, NEXT_A, again);

        assertThat(TestModels.maxAbsDiff(reloaded, first)).isZero();
        assertThat(TestModels.maxAbsDiff(evicted, first)).isGreaterThan(0.01);
        assertThat(sy).isNotEqualTo(again);
    }
}
