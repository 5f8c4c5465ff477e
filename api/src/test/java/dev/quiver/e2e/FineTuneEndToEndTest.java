package dev.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.jobs.JobService;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

    private String key;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path root = Files.createTempDirectory("quiver-e2e");
            Path model = root.resolve("qwen3-tiny");
            DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.data-dir", root.resolve("data").toString(),
                    "quiver.jobs.poll-interval", "200ms",
                    "quiver.jobs.runner-threads", "1",
                    "quiver.jobs.runner-heap", "1g",
                    "micronaut.http.client.read-timeout", "300s");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void uploadTrainServeAndCancel() throws Exception {
        key = keys.create("e2e", "test").key();
        JsonNode file = upload("tickets.jsonl", TicketData.jsonl());
        assertThat(file.path("statistics").path("examples").asInt()).isEqualTo(50);
        assertThat(file.path("statistics").path("format").asText()).isEqualTo("chat");

        JsonNode job = post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file",
                file.path("id").asText(), "suffix", "tickets", "seed", 7, "hyperparameters", Map.of(
                        "n_epochs", 20, "batch_size", 5, "learning_rate", 0.005, "lora_rank", 8)));
        String jobId = job.path("id").asText();
        assertThat(job.path("status").asText()).isEqualTo("queued");

        List<JsonNode> events = streamEvents(jobId);
        JsonNode done = get("/v1/fine_tuning/jobs/" + jobId);
        assertThat(done.path("status").asText()).as(events.toString()).isEqualTo("succeeded");
        String model = done.path("fine_tuned_model").asText();
        assertThat(model).isEqualTo("ft:qwen3-tiny:tickets:" + jobId);
        assertThat(events).anyMatch(e -> e.path("type").asText().equals("metrics"));
        assertThat(events.get(events.size() - 1).path("message").asText()).contains("successfully completed");
        assertThat(get("/v1/fine_tuning/jobs/" + jobId + "/checkpoints").path("data")).isNotEmpty();
        assertThat(get("/v1/models").path("data").toString()).contains(model);

        for (Map.Entry<String, List<String>> e : TicketData.TICKETS.entrySet()) {
            JsonNode answer = post("/v1/chat/completions", Map.of("model", model, "temperature", 0, "max_tokens", 4,
                    "messages", TicketData.messages(e.getValue().get(1), null)));
            assertThat(answer.path("choices").get(0).path("message").path("content").asText()).isEqualTo(e.getKey());
        }

        JsonNode second = post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file",
                file.path("id").asText(), "hyperparameters", Map.of("n_epochs", 50, "batch_size", 1)));
        String secondId = second.path("id").asText();
        String ref = awaitRunning(secondId);
        JsonNode cancelled = post("/v1/fine_tuning/jobs/" + secondId + "/cancel", Map.of());
        assertThat(cancelled.path("status").asText()).isEqualTo("cancelled");
        long pid = Long.parseLong(ref.substring("pid:".length()));
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        Thread.sleep(600);
        assertThat(get("/v1/fine_tuning/jobs/" + secondId).path("status").asText()).isEqualTo("cancelled");
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

    private List<JsonNode> streamEvents(String jobId) throws IOException {
        String sse = client.toBlocking().retrieve(HttpRequest.GET("/v1/fine_tuning/jobs/" + jobId
                + "/events?stream=true").accept(MediaType.TEXT_EVENT_STREAM_TYPE).bearerAuth(key));
        List<JsonNode> events = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data:")) {
                events.add(JSON.readTree(line.substring(5).trim()));
            }
        }
        return events;
    }

    private JsonNode upload(String name, String content) throws IOException {
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", name, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        content.getBytes(StandardCharsets.UTF_8)).build();
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
    }

    private JsonNode get(String path) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.GET(path).bearerAuth(key)));
    }

    private JsonNode post(String path, Object body) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST(path, JSON.writeValueAsString(body))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key)));
    }
}
