package dev.quiver.cli;

import dev.quiver.finetune.FineTune;
import dev.quiver.finetune.FineTuneResult;
import dev.quiver.finetune.FineTuneSpec;
import dev.quiver.finetune.Hyperparameters;
import dev.quiver.finetune.event.TrainingEvent;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver finetune}: a standalone LoRA fine-tune, no control plane. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Fine-tune a LoRA adapter on a JSONL file and write it as a PEFT directory.")
final class FinetuneCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--base-model", required = true, description = "Hugging Face model directory.")
    Path baseModel;

    @Option(names = "--data", required = true, description = "Training JSONL (chat or prompt/completion form).")
    Path data;

    @Option(names = "--validation", description = "Validation JSONL.")
    Path validation;

    @Option(names = "--out", required = true, description = "Adapter directory to create.")
    Path out;

    @Option(names = "--rank", description = "LoRA rank (default 16).")
    Integer rank;

    @Option(names = "--alpha", description = "LoRA alpha (default: twice the rank).")
    Double alpha;

    @Option(names = "--rslora", description = "Scale by alpha/sqrt(rank) (rsLoRA).")
    boolean rslora;

    @Option(names = "--lr", description = "Learning rate (default: auto).")
    Double learningRate;

    @Option(names = "--epochs", description = "Epochs (default: auto).")
    Integer epochs;

    @Option(names = "--batch-size", description = "Examples per optimizer step (default: auto).")
    Integer batchSize;

    @Option(names = "--target-modules", split = ",", description = "Modules to adapt (default: all-linear).")
    String[] targetModules;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-interval", defaultValue = "0",
            description = "Checkpoint every N steps (default: none).")
    int checkpointInterval;

    @Option(names = "--resume", description = "Resume from the newest checkpoint.")
    boolean resume;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto (default: cpu).")
    String device;

    @Override
    public Integer call() throws Exception {
        Hyperparameters.Builder h = Hyperparameters.builder().optEpochs(epochs).optBatchSize(batchSize)
                .optLearningRate(learningRate).optUseRslora(rslora);
        if (rank != null) {
            h.optLoraRank(rank);
        }
        if (alpha != null) {
            h.optLoraAlpha(alpha);
        }
        if (targetModules != null) {
            h.optTargetModules(Arrays.asList(targetModules));
        }
        FineTuneSpec fineTuneSpec = FineTuneSpec.builder().setBaseModel(baseModel).setTrainFile(data).setOutputDir(out)
                .optValidationFile(validation).optHyperparameters(h.build()).optSeed(seed)
                .optCheckpointInterval(checkpointInterval).optResume(resume).optDevice(device).build();
        PrintWriter log = spec.commandLine().getOut();
        FineTuneResult result = new FineTune(fineTuneSpec, event -> print(log, event)).run();
        log.printf(Locale.ROOT, "adapter written to %s (%d tokens, %.0f tokens/s)%n", result.adapterDir(),
                result.metrics().tokensSeen(), result.metrics().tokensPerSecond());
        return 0;
    }

    private static void print(PrintWriter log, TrainingEvent event) {
        if (event instanceof TrainingEvent.Started s) {
            log.printf(Locale.ROOT, "training on %s: %d examples, %d epochs, batch %d, lr %.2e, rank %d, %d steps%n",
                    s.device(), s.train().examples(), s.hyperparameters().nEpochs(), s.hyperparameters().batchSize(),
                    s.hyperparameters().learningRate(), s.hyperparameters().loraRank(),
                    s.hyperparameters().totalSteps());
            s.hyperparameters().autoChosen().forEach((k, v) -> log.println("  auto " + k + ": " + v));
        } else if (event instanceof TrainingEvent.Warning w) {
            log.println("warning: " + w.message());
        } else if (event instanceof TrainingEvent.StepCompleted s) {
            log.printf(Locale.ROOT, "step %d/%d  loss %.4f  acc %.3f  lr %.2e  %.0f tok/s  eta %ds%n", s.step(),
                    s.totalSteps(), s.loss(), s.tokenAccuracy(), s.learningRate(), s.tokensPerSecond(),
                    s.eta().toSeconds());
        } else if (event instanceof TrainingEvent.EvalCompleted e) {
            log.printf(Locale.ROOT, "eval at step %d: loss %.4f  acc %.3f%n", e.step(), e.loss(), e.tokenAccuracy());
        } else if (event instanceof TrainingEvent.CheckpointSaved c) {
            log.println("checkpoint " + c.path());
        }
        log.flush();
    }
}
