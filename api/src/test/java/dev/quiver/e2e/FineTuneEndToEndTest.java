package dev.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.jobs.JobService;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole loop through real HTTP on the tiny model: upload a training file, fine-tune it as a job run
 * by a child JVM (the local launcher), follow its events to success, and call the fine-tuned model
 * through the serving API; then cancel a second job and see its process gone.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FineTuneEndToEndTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    JobService jobs;

    @Inject
    ApiKeyService keys;

    private ApiClient api;

    @Override
    public Map<String, String> getProperties() {
        return TinyModelServer.properties("quiver-e2e");
    }

    @Test
    void uploadTrainServeAndCancel() throws Exception {
        api = new ApiClient(client, keys.create("e2e", "test").key());
        JsonNode file = api.upload("tickets.jsonl", TicketData.jsonl());
        assertThat(file.path("statistics").path("examples").asInt()).isEqualTo(50);
        assertThat(file.path("statistics").path("format").asText()).isEqualTo("chat");

        JsonNode job = api.post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file",
                file.path("id").asText(), "suffix", "tickets", "seed", 7, "hyperparameters", Map.of(
                        "n_epochs", 20, "batch_size", 5, "learning_rate", 0.005, "lora_rank", 8)));
        String jobId = job.path("id").asText();
        assertThat(job.path("status").asText()).isEqualTo("queued");

        List<JsonNode> events = api.events(jobId);
        JsonNode done = api.get("/v1/fine_tuning/jobs/" + jobId);
        assertThat(done.path("status").asText()).as(events.toString()).isEqualTo("succeeded");
        String model = done.path("fine_tuned_model").asText();
        assertThat(model).isEqualTo("ft:qwen3-tiny:tickets:" + jobId);
        assertThat(events).anyMatch(e -> e.path("type").asText().equals("metrics"));
        assertThat(events.get(events.size() - 1).path("message").asText()).contains("successfully completed");
        assertThat(api.get("/v1/fine_tuning/jobs/" + jobId + "/checkpoints").path("data")).isNotEmpty();
        assertThat(api.get("/v1/models").path("data").toString()).contains(model);
        assertThat(runnerScratch(jobId)).as("the job's scratch space, with the tenant's data").doesNotExist();

        for (Map.Entry<String, List<String>> e : TicketData.TICKETS.entrySet()) {
            JsonNode answer = api.post("/v1/chat/completions", Map.of("model", model, "temperature", 0, "max_tokens", 4,
                    "messages", TicketData.messages(e.getValue().get(1), null)));
            assertThat(answer.path("choices").get(0).path("message").path("content").asText()).isEqualTo(e.getKey());
        }

        JsonNode second = api.post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file",
                file.path("id").asText(), "hyperparameters", Map.of("n_epochs", 50, "batch_size", 1)));
        String secondId = second.path("id").asText();
        String ref = awaitRunning(secondId);
        JsonNode cancelled = api.post("/v1/fine_tuning/jobs/" + secondId + "/cancel", Map.of());
        assertThat(cancelled.path("status").asText()).isEqualTo("cancelled");
        long pid = Long.parseLong(ref.substring("pid:".length()));
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        Thread.sleep(600);
        assertThat(api.get("/v1/fine_tuning/jobs/" + secondId).path("status").asText()).isEqualTo("cancelled");
        assertThat(runnerScratch(secondId)).as("the cancelled job's scratch space").doesNotExist();
    }

    /** The runner's default work dir: the launcher passes no --work-dir, and the child JVM's temp dir is /tmp. */
    private static Path runnerScratch(String jobId) {
        return Path.of("/tmp", "quiver-train-" + jobId);
    }

    private String awaitRunning(String jobId) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            var job = jobs.find(jobId).orElseThrow();
            if (job.getLauncherRef() != null) {
                return job.getLauncherRef();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + jobId + " never started");
    }
}
