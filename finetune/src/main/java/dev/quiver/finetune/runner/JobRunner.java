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
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The {@code train} role: one fine-tuning job fed by the control plane. It fetches the spec and data,
 * runs {@link FineTune}, forwards events in order as they happen ({@link EventReporter}), uploads each
 * checkpoint so another attempt (after a crash or eviction) resumes from it, and uploads the adapter at the end.
 * Calls that fail are retried ({@link ControlPlaneRetry}); a runner whose control plane or parent is gone stops
 * ({@link OrphanGuard}).
 */
public final class JobRunner {
    private static final Duration FAILURE_FLUSH = Duration.ofSeconds(10);
    private static final Duration FIRST_CONTACT = Duration.ofSeconds(10);
    private final ControlPlaneClient client;
    private final Path workDir;
    private final RunnerOptions options;
    private final PrintWriter log;
    private final OrphanGuard guard;
    private final ControlPlaneRetry retry;
    /** The run in progress, for the guard to stop; null before training starts. */
    private volatile FineTune fineTune;
    /** Set when the control plane says the job is no longer running. */
    private volatile boolean cancelled;

    public JobRunner(ControlPlaneClient client, Path workDir, RunnerOptions options, PrintWriter log) {
        this.client = client;
        this.workDir = workDir;
        this.options = options;
        this.log = log;
        this.guard = new OrphanGuard(options.parent(), RunnerOptions.PARENT_POLL, RunnerOptions.STOP_GRACE,
                this::stopTraining, Runtime.getRuntime()::halt, log);
        this.retry = new ControlPlaneRetry(options.controlPlaneTimeout(), guard::isOrphaned, log);
    }

    /**
     * Runs the job to its end; returns the process exit code (0 success, 1 failure, 2 cancelled,
     * {@link OrphanGuard#EXIT_ORPHANED} when its control plane or parent went away). The work dir is made
     * afresh and owner-only for the run, and deleted at its end, whatever the outcome.
     */
    public int run() {
        JobWorkDir scratch;
        try {
            scratch = JobWorkDir.create(workDir);
        } catch (IOException e) {
            // the detail names server paths, which are for the operator's log, not for the tenant's job
            log.println("cannot prepare the work dir: " + e.getMessage());
            try {
                client.failure("training_failed", "the runner could not prepare its scratch space; the operator"
                        + " finds why in the runner's log");
            } catch (IOException ignored) {
                // the control plane notices the runner's exit and records the loss itself
            }
            log.flush();
            return 1;
        }
        try {
            return runInWorkDir();
        } finally {
            try {
                scratch.close();
            } catch (UncheckedIOException e) {
                log.println("could not delete the work dir: " + e.getMessage());
            }
            log.flush();
        }
    }

    private int runInWorkDir() {
        EventReporter reporter = null;
        try (guard) {
            // a runner that never reached its control plane has no work to lose: a short bound, then a clear error
            RunnerSpec spec = new ControlPlaneRetry(FIRST_CONTACT, guard::isOrphaned, log)
                    .call("fetching the job spec", client::spec);
            reporter = new EventReporter(client, retry, spec.nextEventSeq(), options.heartbeatInterval(), e -> {
                if (e instanceof ControlPlaneClient.JobNotRunningException) {
                    log.println(e.getMessage());
                    cancelled = true;
                    stopTraining();
                } else {
                    guard.orphaned(e.getMessage());
                }
            }, log);
            return run(spec, reporter);
        } catch (ControlPlaneClient.JobNotRunningException e) {
            log.println("job is no longer running: " + e.getMessage() + "; stopped");
            return 2;
        } catch (IOException e) {
            log.println("could not start the job: " + e.getMessage());
            return guard.isOrphaned() ? OrphanGuard.EXIT_ORPHANED : 1;
        } finally {
            if (reporter != null) {
                reporter.close();
            }
            log.flush();
        }
    }

    private int run(RunnerSpec spec, EventReporter reporter) {
        try {
            Path train = workDir.resolve("train.jsonl");
            download("/files/" + spec.trainingFile(), train);
            Path validation = null;
            if (spec.validationFile() != null) {
                validation = workDir.resolve("validation.jsonl");
                download("/files/" + spec.validationFile(), validation);
            }
            Path checkpoints = workDir.resolve("checkpoints");
            boolean resume = spec.resumeStep() != null;
            if (resume) {
                restoreCheckpoint(checkpoints);
                reporter.report("info", "message", "Resuming from the checkpoint at step " + spec.resumeStep()
                        + ": training continues at step " + (spec.resumeStep() + 1), null);
            } else if (spec.attempt() > 1) {
                reporter.report("info", "message", "No checkpoint was uploaded before; training starts again at"
                        + " step 1", null);
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
                    .optCheckpointInterval(options.checkpoints().steps())
                    .optCheckpointTimeInterval(options.checkpoints().every())
                    .optResume(resume)
                    .optDevice(options.device())
                    .optBaseModelName(spec.baseModelName())
                    .build();
            FineTune run = new FineTune(fineTuneSpec, new Forwarder(reporter));
            fineTune = run;
            if (guard.isOrphaned() || cancelled) {
                // stopped while the data downloaded, before the stop could reach this run
                run.cancel();
            }
            FineTuneResult result = run.run();
            // the events go first: once the result is in the job has ended, and later events would be refused
            if (!reporter.flush(options.controlPlaneTimeout())) {
                return stopped();
            }
            retry.call("uploading the adapter", () -> client.multipart("/result", Map.of("trained_tokens",
                    Long.toString(result.metrics().tokensSeen())), Map.of(
                    "adapter_config", result.adapterDir().resolve(LoraConfig.FILE),
                    "adapter_model", result.adapterDir().resolve(PeftAdapter.WEIGHTS_FILE),
                    "metrics", result.adapterDir().resolve(FineTune.METRICS_FILE))));
            log.println("job succeeded");
            return 0;
        } catch (ControlPlaneClient.JobNotRunningException e) {
            log.println("job is no longer running: " + e.getMessage() + "; stopped");
            return 2;
        } catch (TrainingCancelledException e) {
            return stopped();
        } catch (Exception e) {
            if (guard.isOrphaned()) {
                return stopped();
            }
            log.println("job failed: " + e.getMessage());
            try {
                // what training said before it failed explains the failure: let it arrive first
                reporter.flush(FAILURE_FLUSH);
                reporter.close();
                client.failure(e instanceof dev.quiver.finetune.data.DatasetException ? "invalid_training_file"
                        : "training_failed", e.getMessage() == null ? e.toString() : e.getMessage());
            } catch (IOException ignored) {
                // the control plane notices the runner's exit and records the loss itself
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            return 1;
        }
    }

    private void stopTraining() {
        FineTune running = fineTune;
        if (running != null) {
            running.cancel();
        }
    }

    /** The exit of a run that stopped early: orphaned, or cancelled by the control plane. */
    private int stopped() {
        Optional<String> orphaned = guard.reason();
        if (orphaned.isPresent()) {
            log.println("stopped: " + orphaned.get() + "; the next attempt resumes from the last uploaded checkpoint");
            return OrphanGuard.EXIT_ORPHANED;
        }
        log.println("job is no longer running (cancelled); stopped");
        return 2;
    }

    private void download(String path, Path target) throws IOException {
        retry.call("downloading " + path, () -> {
            client.download(path, target);
            return null;
        });
    }

    private void restoreCheckpoint(Path checkpoints) throws IOException {
        Path zip = workDir.resolve("checkpoint.zip");
        download("/checkpoint", zip);
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

    /**
     * Forwards training events to the reporter, in the order they happen, and uploads each checkpoint before
     * training goes on, so the newest checkpoint the control plane has is the newest there is.
     */
    private final class Forwarder implements dev.quiver.finetune.event.TrainingListener {
        private static final long STEP_EVENT_INTERVAL_NANOS = 500_000_000L;
        private final EventReporter reporter;
        private long lastStepEvent;

        Forwarder(EventReporter reporter) {
            this.reporter = reporter;
        }

        @Override
        public void onEvent(TrainingEvent event) {
            if (event instanceof TrainingEvent.Started s) {
                reporter.report("info", "message", String.format(Locale.ROOT,
                        "Training started on %s: %d examples, %d epochs, batch size %d, learning rate %.2e,"
                                + " LoRA rank %d; %d steps", s.device(), s.train().examples(),
                        s.hyperparameters().nEpochs(), s.hyperparameters().batchSize(),
                        s.hyperparameters().learningRate(), s.hyperparameters().loraRank(),
                        s.hyperparameters().totalSteps()), s.hyperparameters().autoChosen());
            } else if (event instanceof TrainingEvent.Warning w) {
                reporter.report("warn", "message", w.message(), null);
            } else if (event instanceof TrainingEvent.StepCompleted s) {
                step(s);
            } else if (event instanceof TrainingEvent.EvalCompleted e) {
                reporter.report("info", "metrics", String.format(Locale.ROOT,
                        "Step %d: validation loss=%.4f, token accuracy=%.3f", e.step(), e.loss(),
                        e.tokenAccuracy()), Map.of("step", e.step(), "valid_loss", e.loss(),
                        "valid_mean_token_accuracy", e.tokenAccuracy()));
            } else if (event instanceof TrainingEvent.CheckpointSaved c) {
                upload(c);
            } else if (event instanceof TrainingEvent.Completed c) {
                reporter.report("info", "message", String.format(Locale.ROOT,
                        "Training completed: %d steps, final loss %.4f, %.1f s", c.steps(), c.finalLoss(),
                        c.wallTime().toMillis() / 1000.0), null);
            }
        }

        private void upload(TrainingEvent.CheckpointSaved c) {
            try {
                Path zip = zipDirectory(c.path());
                try {
                    retry.call("uploading the checkpoint of step " + c.step(), () -> client.multipart("/checkpoints",
                            Map.of("step", Integer.toString(c.step())), Map.of("file", zip)));
                } finally {
                    Files.deleteIfExists(zip);
                }
            } catch (ControlPlaneClient.JobNotRunningException e) {
                cancelled = true;
                stopTraining();
            } catch (ControlPlaneRetry.ControlPlaneGoneException e) {
                guard.orphaned(e.getMessage());
            } catch (IOException e) {
                // a later checkpoint may get through; without any, a retry starts from step 1 and says so
                log.println("could not upload the checkpoint of step " + c.step() + ": " + e.getMessage());
            }
        }

        /** Step metrics, throttled so a fast run does not flood the event log; the last step always reports. */
        private void step(TrainingEvent.StepCompleted s) {
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
            reporter.report("info", "metrics", String.format(Locale.ROOT, "Step %d/%d: training loss=%.4f", s.step(),
                    s.totalSteps(), s.loss()), data);
        }
    }
}
