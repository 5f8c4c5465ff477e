package dev.quiver.finetune.runner;

import dev.quiver.finetune.FineTune;
import dev.quiver.finetune.FineTuneResult;
import dev.quiver.finetune.FineTuneSpec;
import dev.quiver.finetune.TrainingCancelledException;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The {@code train} role: one fine-tuning job fed by the control plane. It fetches the spec and data,
 * runs {@link FineTune}, forwards events as they happen, uploads each checkpoint so another attempt
 * (after a crash or eviction) resumes from it, and uploads the adapter at the end.
 */
public final class JobRunner {
    private final ControlPlaneClient client;
    private final Path workDir;
    private final int checkpointInterval;
    private final String device;
    private final PrintWriter log;

    public JobRunner(ControlPlaneClient client, Path workDir, int checkpointInterval, String device,
                     PrintWriter log) {
        this.client = client;
        this.workDir = workDir;
        this.checkpointInterval = checkpointInterval;
        this.device = device;
        this.log = log;
    }

    /**
     * Runs the job to its end; returns the process exit code (0 success, 1 failure, 2 cancelled). The work dir
     * is made owner-only for the run and deleted at its end, whatever the outcome.
     */
    public int run() {
        JobWorkDir scratch;
        try {
            scratch = JobWorkDir.create(workDir);
        } catch (IOException e) {
            // the detail names server paths, which are for the operator's log, not for the tenant's job
            log.println("cannot prepare the work dir: " + e.getMessage());
            return failed(new IOException("the runner could not prepare its scratch space; the operator finds"
                    + " why in the runner's log"));
        }
        try {
            return run(scratch.path());
        } finally {
            try {
                scratch.close();
            } catch (UncheckedIOException e) {
                log.println("could not delete the work dir: " + e.getMessage());
            }
            log.flush();
        }
    }

    private int run(Path workDir) {
        try {
            RunnerSpec spec = client.spec();
            Path train = workDir.resolve("train.jsonl");
            client.download("/files/" + spec.trainingFile(), train);
            Path validation = null;
            if (spec.validationFile() != null) {
                validation = workDir.resolve("validation.jsonl");
                client.download("/files/" + spec.validationFile(), validation);
            }
            Path checkpoints = workDir.resolve("checkpoints");
            boolean resume = spec.resumeStep() != null;
            if (resume) {
                restoreCheckpoint(workDir, checkpoints);
                client.event("info", "message", "Resuming from checkpoint at step " + spec.resumeStep(), null);
            }
            Path out = workDir.resolve("adapter-attempt-" + spec.attempt());
            FineTuneSpec fineTuneSpec = FineTuneSpec.builder()
                    .setBaseModel(Path.of(spec.baseModelPath()))
                    .setTrainFile(train)
                    .setOutputDir(out)
                    .optValidationFile(validation)
                    .optHyperparameters(spec.hyperparameters().toTrainer())
                    .optSeed(spec.seed())
                    .optCheckpointDir(checkpoints)
                    .optCheckpointInterval(checkpointInterval)
                    .optResume(resume)
                    .optDevice(device)
                    .optBaseModelName(spec.baseModelName())
                    .build();
            Forwarder forwarder = new Forwarder();
            FineTune fineTune = new FineTune(fineTuneSpec, forwarder);
            forwarder.fineTune = fineTune;
            FineTuneResult result = fineTune.run();
            client.multipart("/result", Map.of("trained_tokens", Long.toString(result.metrics().tokensSeen())),
                    Map.of("adapter_config", result.adapterDir().resolve(LoraConfig.FILE),
                            "adapter_model", result.adapterDir().resolve(PeftAdapter.WEIGHTS_FILE),
                            "metrics", result.adapterDir().resolve(FineTune.METRICS_FILE)));
            log.println("job succeeded");
            return 0;
        } catch (ControlPlaneClient.JobNotRunningException | TrainingCancelledException e) {
            log.println("job is no longer running (cancelled); stopped");
            return 2;
        } catch (Exception e) {
            return failed(e);
        }
    }

    private int failed(Exception e) {
        log.println("job failed: " + e.getMessage());
        try {
            client.failure(e instanceof dev.quiver.finetune.data.DatasetException ? "invalid_training_file"
                    : "training_failed", e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (IOException ignored) {
            // the control plane notices the runner's exit and records the loss itself
        }
        return 1;
    }

    private void restoreCheckpoint(Path workDir, Path checkpoints) throws IOException {
        Path zip = workDir.resolve("checkpoint.zip");
        client.download("/checkpoint", zip);
        Files.createDirectories(checkpoints);
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                Path target = checkpoints.resolve(e.getName()).normalize();
                if (!target.startsWith(checkpoints)) {
                    throw new IOException("checkpoint archive entry '" + e.getName() + "' escapes its directory");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(in, target);
                }
            }
        }
    }

    private static Path zipDirectory(Path dir) throws IOException {
        Path zip = Files.createTempFile(dir.getParent(), "upload-", ".zip");
        try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream z = new ZipOutputStream(out);
             Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                z.putNextEntry(new ZipEntry(dir.getParent().relativize(f).toString()));
                try (InputStream in = Files.newInputStream(f)) {
                    in.transferTo(z);
                }
                z.closeEntry();
            }
        }
        return zip;
    }

    /** Forwards training events to the control plane; a refusal (job cancelled) stops training. */
    private final class Forwarder implements dev.quiver.finetune.event.TrainingListener {
        private static final long STEP_EVENT_INTERVAL_NANOS = 500_000_000L;
        FineTune fineTune;
        private long lastStepEvent;

        @Override
        public void onEvent(TrainingEvent event) {
            try {
                if (event instanceof TrainingEvent.Started s) {
                    client.event("info", "message", String.format(Locale.ROOT,
                            "Training started on %s: %d examples, %d epochs, batch size %d, learning rate %.2e,"
                                    + " LoRA rank %d; %d steps", s.device(), s.train().examples(),
                            s.hyperparameters().nEpochs(), s.hyperparameters().batchSize(),
                            s.hyperparameters().learningRate(), s.hyperparameters().loraRank(),
                            s.hyperparameters().totalSteps()), s.hyperparameters().autoChosen());
                } else if (event instanceof TrainingEvent.Warning w) {
                    client.event("warn", "message", w.message(), null);
                } else if (event instanceof TrainingEvent.StepCompleted s) {
                    step(s);
                } else if (event instanceof TrainingEvent.EvalCompleted e) {
                    client.event("info", "metrics", String.format(Locale.ROOT,
                            "Step %d: validation loss=%.4f, token accuracy=%.3f", e.step(), e.loss(),
                            e.tokenAccuracy()), Map.of("step", e.step(), "valid_loss", e.loss(),
                            "valid_mean_token_accuracy", e.tokenAccuracy()));
                } else if (event instanceof TrainingEvent.CheckpointSaved c) {
                    Path zip = zipDirectory(c.path());
                    try {
                        client.multipart("/checkpoints", Map.of("step", Integer.toString(c.step())),
                                Map.of("file", zip));
                    } finally {
                        Files.deleteIfExists(zip);
                    }
                } else if (event instanceof TrainingEvent.Completed c) {
                    client.event("info", "message", String.format(Locale.ROOT,
                            "Training completed: %d steps, final loss %.4f, %.1f s", c.steps(), c.finalLoss(),
                            c.wallTime().toMillis() / 1000.0), null);
                }
            } catch (ControlPlaneClient.JobNotRunningException e) {
                fineTune.cancel();
            } catch (IOException e) {
                // progress reports are best effort; the result upload at the end is not
                log.println("could not report to the control plane: " + e.getMessage());
            }
        }

        /** Step metrics, throttled so a fast run does not flood the event log; the last step always reports. */
        private void step(TrainingEvent.StepCompleted s) throws IOException {
            long now = System.nanoTime();
            if (s.step() != s.totalSteps() && now - lastStepEvent < STEP_EVENT_INTERVAL_NANOS) {
                return;
            }
            lastStepEvent = now;
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("step", s.step());
            data.put("total_steps", s.totalSteps());
            data.put("train_loss", s.loss());
            data.put("train_mean_token_accuracy", s.tokenAccuracy());
            data.put("learning_rate", s.learningRate());
            data.put("tokens_per_second", s.tokensPerSecond());
            data.put("eta_seconds", s.eta().toSeconds());
            client.event("info", "metrics", String.format(Locale.ROOT, "Step %d/%d: training loss=%.4f", s.step(),
                    s.totalSteps(), s.loss()), data);
        }
    }
}
