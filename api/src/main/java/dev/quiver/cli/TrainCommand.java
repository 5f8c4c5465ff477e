package dev.quiver.cli;

import dev.quiver.finetune.runner.ControlPlaneClient;
import dev.quiver.finetune.runner.JobRunner;
import java.nio.file.Path;
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

    @Option(names = "--checkpoint-interval", defaultValue = "50",
            description = "Upload a checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointInterval;

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
        return new JobRunner(new ControlPlaneClient(controlPlane, job, token), dir, checkpointInterval, device,
                spec.commandLine().getErr()).run();
    }
}
