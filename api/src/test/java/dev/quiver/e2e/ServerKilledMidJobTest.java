package dev.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.testing.QuiverProcess;
import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import io.micronaut.http.client.DefaultHttpClientConfiguration;
import io.micronaut.http.client.HttpClient;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault test of a crashed server: SIGKILL {@code quiver server} while its runner trains, after a checkpoint is
 * uploaded. The orphaned runner exits on its own within its bound (its parent is polled every second; training
 * stops at the next step, and the process is halted 30 s later at the latest); the restarted server re-queues the
 * job, which resumes from the checkpoint and succeeds with exactly one adapter, and its runner events are numbered
 * without a gap or a repeat.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerKilledMidJobTest {
    /** How long an orphaned runner may live on: the parent poll (1 s) plus the stop grace (30 s). */
    private static final Duration ORPHAN_BOUND = Duration.ofSeconds(31);

    @TempDir
    Path dir;
    private Server server;

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.process.destroy();
        }
    }

    @Test
    void orphanedRunnerExitsAndTheJobResumesFromItsCheckpointAfterRestart() throws Exception {
        Path model = dir.resolve("qwen3-tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
        Path data = dir.resolve("data");
        server = start(model, data);
        ApiClient api = server.api();
        String fileId = api.upload("tickets.jsonl", TicketData.jsonl()).path("id").asText();
        // 1000 steps of the tiny model, some 25 s on one core: long enough to outlast two checkpoints (one a second)
        String jobId = api.post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file", fileId,
                "suffix", "crash", "seed", 7, "hyperparameters", Map.of("n_epochs", 100, "batch_size", 5,
                        "learning_rate", 0.005, "lora_rank", 8))).path("id").asText();

        int checkpointStep = awaitSecondCheckpoint(api, jobId);
        // the server's only child while one job runs (a command line is cut at 4096 characters, before the job id)
        List<ProcessHandle> children = server.process.toHandle().children().toList();
        assertThat(children).as("the runner, a child of the server").hasSize(1);
        ProcessHandle runner = children.get(0);
        server.process.destroyForcibly().waitFor();
        long killed = System.nanoTime();

        boolean exited = runner.onExit().thenApply(p -> true).completeOnTimeout(false,
                ORPHAN_BOUND.toMillis(), TimeUnit.MILLISECONDS).get();
        Duration lived = Duration.ofNanos(System.nanoTime() - killed);
        assertThat(exited).as("the orphaned runner exits within %s; its log:%n%s", ORPHAN_BOUND, runnerLog(data, jobId))
                .isTrue();
        assertThat(runnerLog(data, jobId)).contains("stopping: its parent process");

        server = start(model, data);
        api = server.api();
        List<JsonNode> events = api.events(jobId);
        JsonNode job = api.get("/v1/fine_tuning/jobs/" + jobId);
        assertThat(job.path("status").asText()).as("%s%n%s", events, runnerLog(data, jobId)).isEqualTo("succeeded");
        List<String> messages = events.stream().map(e -> e.path("message").asText()).toList();
        assertThat(messages).anySatisfy(m -> assertThat(m).contains("re-queued to resume from its checkpoint at step"))
                .anySatisfy(m -> assertThat(m).startsWith("Resuming from the checkpoint at step"));
        int resumedAt = messages.stream().filter(m -> m.startsWith("Resuming from the checkpoint at step"))
                .map(m -> Integer.parseInt(m.replaceAll("\\D*(\\d+).*", "$1"))).findFirst().orElseThrow();
        assertThat(resumedAt).isGreaterThanOrEqualTo(checkpointStep);

        List<Long> seqs = events.stream().filter(e -> !e.path("seq").isNull()).map(e -> e.path("seq").asLong())
                .toList();
        assertThat(seqs).as("runner events are numbered 1..n in order").isNotEmpty()
                .isEqualTo(java.util.stream.LongStream.rangeClosed(1, seqs.size()).boxed().toList());

        List<String> adapters = Stream.of(api.get("/v1/adapters").path("data")).flatMap(d -> {
            java.util.List<String> names = new java.util.ArrayList<>();
            d.forEach(a -> names.add(a.path("name").asText()));
            return names.stream();
        }).filter(n -> n.endsWith(jobId)).toList();
        assertThat(adapters).containsExactly("ft:qwen3-tiny:crash:" + jobId);
        assertThat(lived).isLessThan(ORPHAN_BOUND);
    }

    /**
     * The step of the older of the first two checkpoints. The embedded H2 writes commits to disk within about a
     * second, and a SIGKILL loses what it has not written yet: by the time the second checkpoint is in, the first
     * is on disk.
     */
    private static int awaitSecondCheckpoint(ApiClient api, String jobId) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            JsonNode checkpoints = api.get("/v1/fine_tuning/jobs/" + jobId + "/checkpoints").path("data");
            if (checkpoints.size() >= 2) {
                return checkpoints.get(checkpoints.size() - 1).path("step_number").asInt();
            }
            String status = api.get("/v1/fine_tuning/jobs/" + jobId).path("status").asText();
            assertThat(status).as("the job is still running when its first checkpoint arrives")
                    .isIn("queued", "running");
            Thread.sleep(100);
        }
        throw new AssertionError("job " + jobId + " uploaded no two checkpoints within 120 s");
    }

    private static String runnerLog(Path data, String jobId) throws IOException {
        Path log = data.resolve("jobs").resolve(jobId).resolve("attempt-1.log");
        return Files.exists(log) ? Files.readString(log) : "(no runner log)";
    }

    /** A running server: its process, and a client of its API (keyless, on loopback). */
    private record Server(Process process, String url) {
        ApiClient api() throws IOException {
            DefaultHttpClientConfiguration config = new DefaultHttpClientConfiguration();
            config.setReadTimeout(Duration.ofSeconds(240));
            return new ApiClient(HttpClient.create(new URL(url), config), "none");
        }
    }

    /** Starts {@code quiver server} from the test class path on a free port, with 1 s checkpoints, and waits for it. */
    private static Server start(Path model, Path data) throws Exception {
        ProcessBuilder pb = QuiverProcess.command(List.of("server", "--base-model", model.toString(), "--data-dir",
                data.toString())).redirectErrorStream(true);
        pb.environment().put("QUIVER_PORT", "-1");
        pb.environment().put("QUIVER_JOBS_POLL_INTERVAL", "200ms");
        pb.environment().put("QUIVER_JOBS_RUNNER_THREADS", "1");
        pb.environment().put("QUIVER_JOBS_RUNNER_HEAP", "1g");
        // inherited by the runner: checkpoint after every second of training
        pb.environment().put("QUIVER_CHECKPOINT_TIME_INTERVAL", "1s");
        Process process = pb.start();
        CompletableFuture<String> listening = new CompletableFuture<>();
        QuiverProcess.collect(process, "quiver-server", listening, new CompletableFuture<>());
        return new Server(process, listening.get(90, TimeUnit.SECONDS));
    }
}
