package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.finetune.model.CausalLm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run stopped at a checkpoint and resumed ends with the same adapter as one that never stopped. */
class ResumeTest {
    @TempDir
    static Path tmp;
    static Path modelDir;
    static Path train;
    static ModelDirectory directory;
    static CausalLm model;

    @BeforeAll
    static void load() throws IOException {
        modelDir = TinyModels.llama(tmp);
        train = ClassifierData.write(tmp.resolve("train.jsonl"));
        directory = ModelDirectory.open(modelDir);
        model = CausalLm.load(directory);
    }

    @AfterAll
    static void close() throws IOException {
        model.close();
        directory.close();
    }

    @Test
    void resumedRunEndsWithTheAdapterOfAnUninterruptedRun() throws Exception {
        FineTuneResult straight = new FineTune(spec("straight", false), e -> { }).run(model);

        FineTuneSpec stopped = spec("stopped", false);
        TrainingCancelledException cancelled = runUntilCheckpoint(stopped, 8);
        assertThat(cancelled.completedSteps()).isEqualTo(8);
        assertThat(cancelled.lastCheckpoint().getFileName().toString()).isEqualTo("checkpoint-8");
        assertThat(stopped.outputDir()).doesNotExist();
        assertThat(checkpointNames(stopped)).containsExactly("checkpoint-4", "checkpoint-8");

        List<TrainingEvent> resumedEvents = new ArrayList<>();
        FineTuneResult resumed = new FineTune(spec("stopped", true), resumedEvents::add).run(model);

        TrainingEvent.Started started = (TrainingEvent.Started) resumedEvents.get(0);
        assertThat(started.startStep()).isEqualTo(8);
        assertThat(resumedEvents).filteredOn(e -> e instanceof TrainingEvent.StepCompleted).first()
                .extracting(e -> ((TrainingEvent.StepCompleted) e).step()).isEqualTo(9);
        assertSameWeights(PeftAdapter.read(straight.adapterDir()), PeftAdapter.read(resumed.adapterDir()));
        assertThat(resumed.metrics().lossCurve()).isEqualTo(straight.metrics().lossCurve());
        assertThat(resumed.metrics().resumedFromStep()).isEqualTo(8);
        assertThat(resumed.metrics().tokensSeen()).isEqualTo(straight.metrics().tokensSeen());
    }

    @Test
    void checkpointsByTimeWhenTheStepIntervalIsNeverReachedAndResumesFromThem() throws Exception {
        FineTuneResult straight = new FineTune(spec("straight-timed", false), e -> { }).run(model);

        // 15 steps never reach a step interval of 50; a 1 ns time interval makes every step's checkpoint due
        FineTuneSpec timed = timedSpec("timed", false);
        TrainingCancelledException cancelled = runUntilCheckpoint(timed, 6);
        assertThat(cancelled.completedSteps()).isEqualTo(6);
        assertThat(checkpointNames(timed)).containsExactly("checkpoint-5", "checkpoint-6");

        List<TrainingEvent> resumedEvents = new ArrayList<>();
        FineTuneResult resumed = new FineTune(timedSpec("timed", true), resumedEvents::add).run(model);

        assertThat(((TrainingEvent.Started) resumedEvents.get(0)).startStep()).isEqualTo(6);
        assertThat(resumedEvents).filteredOn(e -> e instanceof TrainingEvent.StepCompleted).first()
                .extracting(e -> ((TrainingEvent.StepCompleted) e).step()).isEqualTo(7);
        assertSameWeights(PeftAdapter.read(straight.adapterDir()), PeftAdapter.read(resumed.adapterDir()));
        assertThat(resumed.metrics().resumedFromStep()).isEqualTo(6);
    }

    @Test
    void refusesToResumeACheckpointOfDifferentSettings() throws Exception {
        FineTuneSpec original = spec("original", false);
        runUntilCheckpoint(original, 4);

        FineTuneSpec changed = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(train)
                .setOutputDir(original.outputDir()).optCheckpointInterval(4).optResume(true)
                .optHyperparameters(hyperparameters().optLearningRate(1e-3).build()).build();
        assertThatThrownBy(() -> new FineTune(changed, e -> { }).run(model))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("checkpoint-4")
                .hasMessageContaining("different run");

        FineTuneSpec fresh = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(train)
                .setOutputDir(original.outputDir()).optCheckpointInterval(4)
                .optHyperparameters(hyperparameters().build()).build();
        assertThatThrownBy(() -> new FineTune(fresh, e -> { }).run(model))
                .hasMessageContaining("pass resume to continue");
    }

    @Test
    void refusesAnExistingOutputDirectory() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("taken"));
        FineTuneSpec spec = FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(train).setOutputDir(out)
                .build();
        assertThatThrownBy(() -> new FineTune(spec, e -> { }).run(model))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class)
                .hasMessageContaining("taken already exists");
    }

    /** Runs {@code spec} and cancels it, as a job runner would, once the checkpoint of {@code step} is saved. */
    private static TrainingCancelledException runUntilCheckpoint(FineTuneSpec spec, int step) {
        FineTune[] job = new FineTune[1];
        job[0] = new FineTune(spec, e -> {
            if (e instanceof TrainingEvent.CheckpointSaved c && c.step() == step) {
                job[0].cancel();
            }
        });
        return catchThrowableOfType(TrainingCancelledException.class, () -> job[0].run(model));
    }

    private static FineTuneSpec spec(String name, boolean resume) {
        return FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(train).setOutputDir(tmp.resolve(name))
                .optCheckpointInterval(4).optResume(resume).optHyperparameters(hyperparameters().build()).build();
    }

    private static FineTuneSpec timedSpec(String name, boolean resume) {
        return FineTuneSpec.builder().setBaseModel(modelDir).setTrainFile(train).setOutputDir(tmp.resolve(name))
                .optCheckpointInterval(50).optCheckpointTimeInterval(Duration.ofNanos(1)).optResume(resume)
                .optHyperparameters(hyperparameters().build()).build();
    }

    // 3 epochs of 5 steps, dropout on, so the resumed part needs the right data order, rates and dropout masks
    private static Hyperparameters.Builder hyperparameters() {
        return Hyperparameters.builder().optEpochs(3).optBatchSize(10).optLearningRate(5e-3).optLoraDropout(0.1)
                .optWeightDecay(0.01);
    }

    private static List<String> checkpointNames(FineTuneSpec spec) throws IOException {
        try (Stream<Path> s = Files.list(spec.effectiveCheckpointDir())) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameWeights(PeftAdapter expected, PeftAdapter actual) {
        assertThat(actual.weights().keySet()).containsExactlyElementsOf(expected.weights().keySet());
        for (LoraWeights w : expected.weights().values()) {
            LoraWeights r = actual.weights().get(w.module());
            assertThat(r.a()).as(w.module() + " A").isEqualTo(w.a());
            assertThat(r.b()).as(w.module() + " B").isEqualTo(w.b());
        }
    }
}
