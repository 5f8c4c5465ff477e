package dev.quiver.finetune;

import static org.assertj.core.api.Assumptions.assumeThat;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training throughput on the ~30M-parameter demo model; a measurement, not a check, so it runs only
 * with {@code QUIVER_BENCHMARK=1} in the environment.
 */
class SmallModelBenchmark {
    @TempDir
    Path tmp;

    @Test
    void trainingThroughputOnTheSmallDemoModel() throws Exception {
        assumeThat(System.getenv("QUIVER_BENCHMARK")).isEqualTo("1");
        Path model = tmp.resolve("small");
        long began = System.nanoTime();
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.SMALL, 7, DType.BF16));
        System.out.printf("benchmark: generated small qwen3 in %.1f s%n", (System.nanoTime() - began) / 1e9);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String text = ("Ticket " + i + ": the parcel never arrived and the invoice is wrong again. ").repeat(4);
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"" + text + "\"}, {\"role\": \"assistant\","
                    + " \"content\": \"shipping and billing, case " + i + "\"}]}");
        }
        Path data = Files.write(tmp.resolve("train.jsonl"), lines);
        FineTuneSpec spec = FineTuneSpec.builder().setBaseModel(model).setTrainFile(data)
                .setOutputDir(tmp.resolve("out"))
                .optHyperparameters(Hyperparameters.builder().optEpochs(1).optBatchSize(16).optLearningRate(2e-4)
                        .build())
                .build();
        began = System.nanoTime();
        FineTuneResult r = new FineTune(spec, e -> { }).run();
        TrainingMetrics m = r.metrics();
        System.out.printf("benchmark: %d steps, %d tokens (%d per example), %.0f tokens/s training, %.1f s total"
                        + " incl. load, loss %.3f -> %.3f%n", m.steps(), m.tokensSeen(), m.tokensSeen() / 64,
                m.tokensPerSecond(), (System.nanoTime() - began) / 1e9, m.lossCurve().get(0).loss(),
                m.finalTrainLoss());
    }
}
