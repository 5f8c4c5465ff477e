package dev.quiver.cli;

import dev.quiver.finetune.runner.ControlPlaneClient;
import dev.quiver.finetune.runner.JobRunner;
import dev.quiver.finetune.runner.RunnerOptions;
import dev.quiver.finetune.train.CheckpointSchedule;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver train}: the runner of one control-plane job (started by a launcher, not by hand). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Run one fine-tuning job of the control plane; the job token comes from $QUIVER_RUNNER_TOKEN.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--job", required = true, description = "Fine-tuning job id.")
    String job;

    @Option(names = "--control-plane", required = true, description = "Control plane base URL.")
    String controlPlane;

    @Option(names = "--work-dir", description = "Scratch space (default: a temp dir per job).")
    Path workDir;

    @Option(names = "--checkpoint-interval", defaultValue = "${env:QUIVER_CHECKPOINT_INTERVAL:-50}",
            description = "Upload a checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointInterval;

    @Option(names = "--checkpoint-time-interval", defaultValue = "${env:QUIVER_CHECKPOINT_TIME_INTERVAL:-2m}",
            converter = DurationConverter.class,
            description = "Also upload one whenever this long has passed since the last (default: ${DEFAULT-VALUE}).")
    Duration checkpointTimeInterval;

    @Option(names = "--control-plane-timeout", defaultValue = "${env:QUIVER_CONTROL_PLANE_TIMEOUT:-60s}",
            converter = DurationConverter.class,
            description = "Stop once reports have failed this long (default: ${DEFAULT-VALUE}).")
    Duration controlPlaneTimeout;

    @Option(names = "--heartbeat-interval", defaultValue = "${env:QUIVER_HEARTBEAT_INTERVAL:-10s}",
            converter = DurationConverter.class,
            description = "Say alive this often between events (default: ${DEFAULT-VALUE}).")
    Duration heartbeatInterval;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto (default: cpu).")
    String device;

    @Override
    public Integer call() throws Exception {
        String token = System.getenv(ControlPlaneClient.TOKEN_ENV);
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("$" + ControlPlaneClient.TOKEN_ENV + " is not set; the launcher passes the job's token"
                    + " there");
        }
        Path dir = workDir != null ? workDir
                : Path.of(System.getProperty("java.io.tmpdir"), "quiver-train-" + job);
        RunnerOptions options = new RunnerOptions(new CheckpointSchedule(checkpointInterval, checkpointTimeInterval),
                device, controlPlaneTimeout, heartbeatInterval, parent());
        return new JobRunner(new ControlPlaneClient(controlPlane, job, token), dir, options,
                spec.commandLine().getErr()).run();
    }

    /** The parent the launcher named, while it lives: a pid that is already gone cannot be told from a reused one. */
    private static Optional<ProcessHandle> parent() {
        String pid = System.getenv(RunnerOptions.PARENT_PID_ENV);
        if (pid == null || pid.isBlank()) {
            return Optional.empty();
        }
        Optional<ProcessHandle> parent = ProcessHandle.of(Long.parseLong(pid.trim()));
        if (parent.isEmpty()) {
            throw new IllegalStateException("$" + RunnerOptions.PARENT_PID_ENV + " names process " + pid + ", which is gone");
        }
        return parent;
    }
}
