package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.finetune.model.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user gives data and gets a working adapter: trained with every hyperparameter on {@code auto}, the tiny
 * Qwen3 learns a task it can only pass by generalising (labelling messages it has never seen), while the
 * base model scores no better than chance.
 */
class GeneralisationTest {
    private static final int TRAIN = 400;
    private static final int HELD_OUT = 100;

    @TempDir
    static Path tmp;
    static Path modelDir;
    static ModelDirectory directory;
    static CausalLm model;
    static KeywordTask.Split task;
    static FineTuneResult result;
    static double baseExactMatch;
    static double baseBestOf;
    static double adapterExactMatch;
    static double adapterBestOf;

    @BeforeAll
    static void trainWithAutoSettings() throws Exception {
        modelDir = TinyModels.qwen3(tmp);
        directory = ModelDirectory.open(modelDir);
        model = CausalLm.load(directory);
        task = KeywordTask.generate(42, TRAIN, HELD_OUT);
        FineTuneSpec spec = FineTuneSpec.builder()
                .setBaseModel(modelDir)
                .setTrainFile(KeywordTask.write(tmp.resolve("train.jsonl"), task.train()))
                .setOutputDir(tmp.resolve("adapter"))
                .build();
        long began = System.nanoTime();
        result = new FineTune(spec, e -> { }).run(model);
        long trained = System.nanoTime();
        List<AnswerScores.Case> heldOut = cases(task.heldOut());
        List<String> labels = List.copyOf(KeywordTask.KEYWORDS.keySet());
        baseExactMatch = AnswerScores.exactMatch(model, modelDir, null, heldOut);
        baseBestOf = AnswerScores.bestOf(model, modelDir, null, labels, heldOut);
        adapterExactMatch = AnswerScores.exactMatch(model, modelDir, result.adapterDir(), heldOut);
        adapterBestOf = AnswerScores.bestOf(model, modelDir, result.adapterDir(), labels, heldOut);
        System.out.printf("generalisation: %s%n  trained in %.1f s, scored in %.1f s; on %d held-out messages (chance"
                        + " %.2f): base exact match %.2f, most likely label %.2f; adapter exact match %.2f, most likely"
                        + " label %.2f%n", result.metrics().hyperparameters().autoChosen(), (trained - began) / 1e9,
                (System.nanoTime() - trained) / 1e9, HELD_OUT, KeywordTask.chance(), baseExactMatch, baseBestOf,
                adapterExactMatch, adapterBestOf);
    }

    @AfterAll
    static void close() throws IOException {
        model.close();
        directory.close();
    }

    @Test
    void heldOutMessagesNeverOccurInTraining() {
        Set<String> trained = new HashSet<>();
        task.train().forEach(e -> trained.add(e.message()));
        assertThat(task.heldOut()).hasSize(HELD_OUT).noneMatch(e -> trained.contains(e.message()));
    }

    @Test
    void baseModelScoresNoBetterThanChanceEvenWhenMadeToChooseALabel() {
        assertThat(baseExactMatch).isLessThanOrEqualTo(KeywordTask.chance());
        // 100 balanced cases: chance is 0.25 with a standard deviation of about 0.04
        assertThat(baseBestOf).isLessThanOrEqualTo(KeywordTask.chance() + 0.15);
    }

    @Test
    void adapterTrainedWithAutoSettingsAnswersNinetyPercentOfHeldOutMessagesExactly() {
        assertThat(adapterExactMatch).isGreaterThanOrEqualTo(0.9);
    }

    @Test
    void everyPerDatasetSettingWasChosenAutomaticallyWithAReason() {
        assertThat(result.metrics().hyperparameters().autoChosen())
                .containsKeys("n_epochs", "batch_size", "learning_rate", "max_seq_length", "eval_interval")
                .allSatisfy((name, why) -> assertThat(why).contains(":"));
    }

    private static List<AnswerScores.Case> cases(List<KeywordTask.Example> examples) {
        return examples.stream().map(e -> new AnswerScores.Case(KeywordTask.prompt(e.message()), e.label())).toList();
    }
}
