package dev.quiver.parity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.finetune.FineTune;
import dev.quiver.finetune.FineTuneResult;
import dev.quiver.finetune.FineTuneSpec;
import dev.quiver.finetune.KeywordTask;
import dev.quiver.finetune.TinyModels;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adapter trained on the fp32 base keeps its quality when the base it is served on is quantized: the held-out
 * exact match of finetune's keyword task (labels of messages never seen in training), greedy, served by the
 * inference engine on fp32, int8 and int4 base weights. The adapter itself stays fp32 in every case.
 */
class QuantizedAdapterTest {
    private static final int TRAIN = 400;
    private static final int HELD_OUT = 100;

    @TempDir
    static Path tmp;
    static final Map<Quantization, Double> EXACT_MATCH = new EnumMap<>(Quantization.class);

    @BeforeAll
    static void trainOnFp32AndServeOnEachBase() throws Exception {
        Path modelDir = TinyModels.qwen3(tmp);
        KeywordTask.Split task = KeywordTask.generate(42, TRAIN, HELD_OUT);
        FineTuneResult result = new FineTune(FineTuneSpec.builder().setBaseModel(modelDir)
                .setTrainFile(KeywordTask.write(tmp.resolve("train.jsonl"), task.train()))
                .setOutputDir(tmp.resolve("adapter")).build(), e -> { }).run();
        ChatTemplate template = ChatTemplate.load(modelDir);
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            for (Quantization q : Quantization.values()) {
                try (InferenceEngine engine = InferenceEngine.open(modelDir, EngineSettings.builder()
                        .optMaxBatch(4).optMaxSequenceLength(128).optLoraSlots(1).optMaxLoraRank(64).optThreads(1)
                        .optQuantization(q).build())) {
                    engine.registerAdapter("keywords", result.adapterDir());
                    int right = 0;
                    for (KeywordTask.Example e : task.heldOut()) {
                        int[] prompt = tokenizer.encode(template.render(KeywordTask.prompt(e.message()), null, true));
                        String answer = engine.generate(prompt, "keywords", SamplingParams.builder()
                                .optTemperature(0).optMaxTokens(8).build()).text();
                        right += answer.equals(e.label()) ? 1 : 0;
                    }
                    EXACT_MATCH.put(q, (double) right / HELD_OUT);
                }
            }
        }
        System.out.printf("adapter on a quantized base (keyword task, %d held-out messages): exact match fp32 %.2f,"
                + " int8 %.2f, int4 %.2f%n", HELD_OUT, EXACT_MATCH.get(Quantization.NONE),
                EXACT_MATCH.get(Quantization.INT8), EXACT_MATCH.get(Quantization.INT4));
    }

    @Test
    void theAdapterLearnedTheTaskOnTheFp32Base() {
        assertThat(EXACT_MATCH.get(Quantization.NONE)).isGreaterThanOrEqualTo(0.9);
    }

    @Test
    void servedOnTheInt8BaseItKeepsItsExactMatchWithinTwoPoints() {
        assertThat(EXACT_MATCH.get(Quantization.INT8)).isGreaterThanOrEqualTo(EXACT_MATCH.get(Quantization.NONE) - 0.02);
    }
}
