package dev.quiver.jobs;

import dev.quiver.adapters.blob.DataDir;
import dev.quiver.finetune.runner.ControlPlaneClient;
import dev.quiver.finetune.runner.RunnerOptions;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs each job's runner as a child JVM of this process, from the same classpath, so the local and the
 * Kubernetes paths execute the same code. The reference is {@code pid:<pid>}. Stopping the server stops
 * no runner on purpose: like a Kubernetes Job, a runner outlives a graceful control-plane restart, and the
 * scheduler's first tick after the restart adopts it by pid or, if it is gone, re-queues its job. A server that
 * dies leaves no orphan: the runner watches this process ({@link RunnerOptions#PARENT_PID_ENV}) and stops
 * within seconds of its end, and the restarted server re-queues the job from its last checkpoint.
 */
@Singleton
@Requires(property = "quiver.jobs.launcher", value = "local", defaultValue = "local")
public class LocalLauncher implements Launcher {
    private final DataDir dataDir;
    private final String runnerHeap;
    private final int runnerThreads;
    /** Children started by this process, so their exit code and log can be told; gone after a restart. */
    private final Map<String, Child> children = new ConcurrentHashMap<>();

    private record Child(Process process, Path log) {
    }

    public LocalLauncher(DataDir dataDir, @Value("${quiver.jobs.runner-heap:4g}") String runnerHeap,
                         @Value("${quiver.jobs.runner-threads:0}") int runnerThreads) {
        this.runnerThreads = runnerThreads > 0 ? runnerThreads : Runtime.getRuntime().availableProcessors();
        this.dataDir = dataDir;
        this.runnerHeap = runnerHeap;
    }

    @Override
    public String launch(LaunchRequest request) throws IOException {
        Path logDir = dataDir.resolve("jobs/" + request.jobId());
        Files.createDirectories(logDir);
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xmx" + runnerHeap, "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=" + runnerThreads, "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", System.getProperty("java.class.path"), "dev.quiver.cli.QuiverCli",
                "train", "--job", request.jobId(), "--control-plane", request.controlPlaneUrl(),
                // scratch space (a copy of the tenant's data) under the data dir, not the shared temp dir
                "--work-dir", dataDir.resolve("work/jobs/" + request.jobId()).toString()));
        Path log = logDir.resolve("attempt-" + request.attempt() + ".log");
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put(ControlPlaneClient.TOKEN_ENV, request.runnerToken());
        pb.environment().put(RunnerOptions.PARENT_PID_ENV, Long.toString(ProcessHandle.current().pid()));
        Process process = pb.start();
        // the scheduler asks about dead runners before it launches new ones; runners that reported are not asked
        children.values().removeIf(c -> !c.process().isAlive());
        String ref = "pid:" + process.pid();
        children.put(ref, new Child(process, log));
        return ref;
    }

    @Override
    public Optional<String> failureReason(String ref) {
        Child child = ref == null ? null : children.get(ref);
        if (child == null || child.process().isAlive()) {
            return Optional.empty();
        }
        children.remove(ref);
        // the reason reaches tenants: name the log relative to the data dir, never as a server path
        return Optional.of("the runner exited with code " + child.process().exitValue() + "; the operator finds its"
                + " log at " + dataDir.root().relativize(child.log()) + " under the data dir");
    }

    @Override
    public boolean isAlive(String ref) {
        Child child = ref == null ? null : children.get(ref);
        if (child != null) {
            // the Process itself, not a handle by pid: once it says dead, its exit code is there to tell
            return child.process().isAlive();
        }
        return process(ref).map(ProcessHandle::isAlive).orElse(false);
    }

    @Override
    public void cancel(String ref) {
        if (ref != null) {
            children.remove(ref);
        }
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
                // Linux reports at most 4096 characters of a command line: a long class path hides the class
                .filter(p -> p.info().commandLine().map(c -> c.contains("QuiverCli") || c.length() >= 4096)
                        .orElse(true));
    }
}
