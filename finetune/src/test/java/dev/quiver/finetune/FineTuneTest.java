package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.finetune.data.DatasetException;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.finetune.model.CausalLm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point on prompt/completion data, auto settings, held-out evaluation and bad input. */
class FineTuneTest {
    @TempDir
    static Path tmp;
    static Path modelDir;
    static ModelDirectory directory;
    static CausalLm model;

    @BeforeAll
    static void load() throws IOException {
        modelDir = TinyModels.qwen3(tmp);
        directory = ModelDirectory.open(modelDir);
        model = CausalLm.load(directory);
    }

    @AfterAll
    static void close() throws IOException {
        model.close();
        directory.close();
    }

    @Test
    void trainsOnPromptCompletionWithAutoSettingsAndAHeldOutSplit() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("{\"prompt\": \"" + i + " plus one is\", \"completion\": \" " + (i + 1) + "\"}");
        }
        lines.add("{\"prompt\": \"" + "very long ".repeat(40) + "\", \"completion\": \" cut\"}");
        Path data = Files.write(tmp.resolve("sums.jsonl"), lines);
        List<TrainingEvent> events = new ArrayList<>();
        FineTuneSpec spec = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(data)
                .setOutputDir(tmp.resolve("sums-adapter"))
                .optHyperparameters(Hyperparameters.builder().optLoraRank(4).optLoraAlpha(8).optUseRslora(true)
                        .optTargetModules(List.of("q_proj", "v_proj")).optMaxSeqLength(32).optValidationSplit(0.1)
                        .optEpochs(1).build())
                .build();

        FineTuneResult result = new FineTune(spec, events::add).run(model);

        TrainingEvent.Started started = (TrainingEvent.Started) events.get(0);
        ResolvedHyperparameters hp = started.hyperparameters();
        // 41 examples less the one whose completion was cut away, less 4 held out
        assertThat(started.train().examples()).isEqualTo(36);
        assertThat(started.validation().examples()).isEqualTo(4);
        assertThat(started.train().droppedLines()).containsExactly(41);
        assertThat(hp.batchSize()).isEqualTo(8);
        // the tiny model is 64 wide: LoRA's 2e-4 for width 4096, times sqrt(4096 / 64)
        assertThat(hp.learningRate()).isCloseTo(1.6e-3, within(1e-12));
        assertThat(hp.autoChosen()).containsKeys("batch_size", "learning_rate", "eval_interval")
                .doesNotContainKeys("n_epochs", "max_seq_length", "lora_alpha");
        assertThat(hp.totalSteps()).isEqualTo(5);
        assertThat(events).filteredOn(e -> e instanceof TrainingEvent.Warning)
                .extracting(e -> ((TrainingEvent.Warning) e).message())
                .anySatisfy(m -> assertThat(m).contains("truncated (lines 41)"))
                .anySatisfy(m -> assertThat(m).contains("were skipped (lines 41)"));
        assertThat(result.metrics().finalEval()).isNotNull();
        assertThat(result.metrics().finalEval().targetTokens()).isPositive();

        PeftAdapter adapter = PeftAdapter.read(result.adapterDir());
        adapter.validateAgainst(directory.config(), PeftAdapter.MAX_RANK);
        assertThat(adapter.config().useRslora()).isTrue();
        assertThat(adapter.config().targetModules()).containsExactly("q_proj", "v_proj");
        assertThat(adapter.weights()).hasSize(2 * 2).containsKeys("model.layers.1.self_attn.v_proj");
    }

    @Test
    void badDataFailsBeforeTrainingWithLineNumbers() throws IOException {
        Path data = Files.write(tmp.resolve("bad.jsonl"), List.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\":"
                        + " \"yo\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                "not json",
                "{\"text\": \"a pretraining-style line\"}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\":"
                        + " \"\"}]}"));
        List<TrainingEvent> events = new ArrayList<>();
        FineTuneSpec spec = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(data)
                .setOutputDir(tmp.resolve("never")).build();
        DatasetException e = catchThrowableOfType(DatasetException.class,
                () -> new FineTune(spec, events::add).run(model));
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(2, 3, 4, 5);
        assertThat(e.getMessage()).contains("bad.jsonl:2: has no assistant message")
                .contains("bad.jsonl:3: not valid JSON")
                .contains("bad.jsonl:4: missing \"messages\" (chat form) or \"prompt\" and \"completion\"")
                .contains("bad.jsonl:5: messages[1].content is empty");
        assertThat(events).isEmpty();
        assertThat(tmp.resolve("never")).doesNotExist();
    }

    @Test
    void dataWhereNoExampleSurvivesTruncationFailsWithTheLinesThatLostTheirAnswer() throws IOException {
        Path data = Files.write(tmp.resolve("long.jsonl"), List.of(
                "{\"prompt\": \"" + "very long ".repeat(20) + "\", \"completion\": \" a\"}",
                "",
                "{\"prompt\": \"" + "longer still ".repeat(20) + "\", \"completion\": \" b\"}"));
        List<TrainingEvent> events = new ArrayList<>();
        FineTuneSpec spec = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(data)
                .setOutputDir(tmp.resolve("never-long"))
                .optHyperparameters(Hyperparameters.builder().optMaxSeqLength(8).build()).build();
        DatasetException e = catchThrowableOfType(DatasetException.class,
                () -> new FineTune(spec, events::add).run(model));
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(1, 3);
        assertThat(e.getMessage()).contains("long.jsonl:1: no assistant or completion token is left within"
                + " max_seq_length 8 tokens").contains("long.jsonl:3:");
        assertThat(events).isEmpty();
        assertThat(tmp.resolve("never-long")).doesNotExist();
    }
}
