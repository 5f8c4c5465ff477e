package dev.quiver.jobs;

import dev.quiver.adapters.blob.DataDir;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs each job's runner as a child JVM of this process, from the same classpath, so the local and the
 * Kubernetes paths execute the same code. The reference is {@code pid:<pid>}.
 */
@Singleton
@Requires(property = "quiver.jobs.launcher", value = "local", defaultValue = "local")
public class LocalLauncher implements Launcher {
    /** Environment variable carrying the per-job token to the runner (not on the command line, which others can read). */
    public static final String TOKEN_ENV = "QUIVER_RUNNER_TOKEN";

    private final DataDir dataDir;
    private final String runnerHeap;

    public LocalLauncher(DataDir dataDir, @Value("${quiver.jobs.runner-heap:4g}") String runnerHeap) {
        this.dataDir = dataDir;
        this.runnerHeap = runnerHeap;
    }

    @Override
    public String launch(LaunchRequest request) throws IOException {
        Path logDir = dataDir.resolve("jobs/" + request.jobId());
        Files.createDirectories(logDir);
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xmx" + runnerHeap, "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), "dev.quiver.cli.QuiverCli",
                "train", "--job", request.jobId(), "--control-plane", request.controlPlaneUrl()));
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        logDir.resolve("attempt-" + request.attempt() + ".log").toFile()));
        pb.environment().put(TOKEN_ENV, request.runnerToken());
        Process process = pb.start();
        return "pid:" + process.pid();
    }

    @Override
    public boolean isAlive(String ref) {
        return process(ref).map(ProcessHandle::isAlive).orElse(false);
    }

    @Override
    public void cancel(String ref) {
        process(ref).ifPresent(p -> {
            p.destroy();
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
            }
        });
    }

    private static Optional<ProcessHandle> process(String ref) {
        if (ref == null || !ref.startsWith("pid:")) {
            return Optional.empty();
        }
        return ProcessHandle.of(Long.parseLong(ref.substring(4)))
                .filter(p -> p.info().commandLine().map(c -> c.contains("QuiverCli")).orElse(true));
    }
}
