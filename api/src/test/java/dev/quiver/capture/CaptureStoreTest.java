package dev.quiver.capture;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.ApiClient;
import dev.quiver.e2e.TicketData;
import dev.quiver.e2e.TinyModelServer;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The capture store on its own: the sample a {@code sample_rate} below 1 takes (seeded, so the very calls are
 * known), the retention sweep, escalations on a schema failure (an upstream that fails too, and one that answers),
 * and a full capture queue that drops and counts records while the proxied calls still succeed. The upstream is this
 * server's own OpenAI endpoint serving the tiny base model, reached over HTTP, except where a stand-in for a big
 * model answers with a fixed label.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CaptureStoreTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 42;
    private static final int CAPACITY = 4;

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    EmbeddedServer server;

    @Inject
    ApiKeyService keys;

    @Inject
    CapturedCallRepository calls;

    @Inject
    CaptureQueue queue;

    @Inject
    CaptureRetention retention;

    @Inject
    PrometheusMeterRegistry prometheus;

    private final Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-capture"));
    private String key;
    private ApiClient api;

    @Override
    public Map<String, String> getProperties() {
        properties.put("quiver.capture.sampling-seed", Long.toString(SEED));
        properties.put("quiver.capture.queue-capacity", Integer.toString(CAPACITY));
        return properties;
    }

    @BeforeAll
    void keys() throws IOException {
        key = keys.create("capture", "agent").key();
        Path secrets = Path.of(properties.get("quiver.data-dir"), "secrets");
        Files.createDirectories(secrets);
        Files.writeString(secrets.resolve("upstream-key"), keys.create("capture", "upstream").key());
        api = new ApiClient(client, key);
    }

    @Test
    @Order(1)
    void aSampleRateBelowOneCapturesTheSeededShareOfCalls() throws Exception {
        String taskId = task("sampled", 0.5, 30);
        int n = 24;
        for (int i = 0; i < n; i++) {
            assertThat(proxy("sampled").path("object").asText()).isEqualTo("chat.completion");
        }
        queue.awaitWritten(Duration.ofSeconds(10));
        SplittableRandom draws = new SplittableRandom(SEED);
        long expected = 0;
        for (int i = 0; i < n; i++) {
            expected += draws.nextDouble() < 0.5 ? 1 : 0;
        }
        assertThat(expected).as("the seed samples some calls and skips others").isBetween(1L, n - 1L);
        assertThat(calls.countByTaskIdAndSide(taskId, CapturedCall.UPSTREAM)).isEqualTo(expected);
    }

    @Test
    @Order(2)
    void theRetentionSweepDeletesCapturesOlderThanTheirUpstreamsRetention() throws Exception {
        String month = task("kept_a_month", 1.0, 30);
        String quarter = task("kept_a_quarter", 1.0, 90);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS); // what the database keeps of a time
        for (String taskId : List.of(month, quarter)) {
            for (int days : List.of(31, 29)) {
                calls.save(new CapturedCall("capture", taskId, CapturedCall.UPSTREAM, "qwen3-tiny", "{}", "billing",
                        200, null, 5.0, 10, 1, null, now.minus(Duration.ofDays(days))));
            }
        }

        retention.sweep();

        assertThat(created(month)).containsExactly(now.minus(Duration.ofDays(29)));
        assertThat(created(quarter)).containsExactlyInAnyOrder(now.minus(Duration.ofDays(31)),
                now.minus(Duration.ofDays(29)));
    }

    @Test
    @Order(3)
    void anAnswerThatFailsTheSchemaIsEscalatedCapturedAndCounted() throws Exception {
        String taskId = task("cut_off", 1.0, 30);
        failsItsSchemaAndEscalates("cut_off");
        io.micronaut.http.client.exceptions.HttpClientResponseException failed = org.junit.jupiter.api.Assertions
                .assertThrows(io.micronaut.http.client.exceptions.HttpClientResponseException.class, () -> client
                        .toBlocking().retrieve(HttpRequest.POST("/v1/tasks/cut_off/invoke", JSON.writeValueAsString(
                                Map.of("input", Map.of("ticket", "my invoice is wrong"))))
                                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key)));
        // the upstream got the same one-token budget: its answer fails the schema as well, so the 422 stands
        assertThat(failed.code()).isEqualTo(422);
        assertThat(JSON.readTree(theOneSchemaEscalation(taskId).getRequest()).has("guided_choice")).isFalse();
        assertThat(calls.countByTaskIdAndSide(taskId, CapturedCall.TASK)).isEqualTo(1);
        assertThat(api.get("/v1/tasks/cut_off/stats").path("escalations_by_reason").path("schema_failure").asLong())
                .isEqualTo(1);
    }

    @Test
    @Order(4)
    void anAnswerThatFailsTheSchemaIsAnsweredByAnUpstreamWhoseAnswerPassesIt() throws Exception {
        // a stand-in for the big model behind the upstream: it answers every call with one valid label
        AtomicReference<String> received = new AtomicReference<>();
        HttpServer big = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        big.createContext("/v1/chat/completions", exchange -> {
            received.set(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] body = JSON.writeValueAsBytes(Map.of("id", "chatcmpl-1", "object", "chat.completion",
                    "created", 0, "model", "big-model", "choices", List.of(Map.of("index", 0, "message",
                            Map.of("role", "assistant", "content", "shipping_delay_reported"), "finish_reason", "stop")),
                    "usage", Map.of("prompt_tokens", 12, "completion_tokens", 4, "total_tokens", 16)));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        big.start();
        try {
            String taskId = task("rescued", 1.0, 30, "http://127.0.0.1:" + big.getAddress().getPort() + "/v1",
                    "big-model");
            failsItsSchemaAndEscalates("rescued");
            // the task's own one-token answer is cut off; the upstream's answer is a label, and it is the output
            JsonNode answer = api.post("/v1/tasks/rescued/invoke", Map.of("input",
                    Map.of("ticket", "where is my parcel")));
            assertThat(answer.path("output").asText()).isEqualTo("shipping_delay_reported");
            assertThat(answer.path("served_by").asText()).isEqualTo("upstream");
            assertThat(answer.path("escalation_reason").asText()).isEqualTo("schema_failure");
            assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
            JsonNode request = JSON.readTree(received.get());
            assertThat(request.path("model").asText()).isEqualTo("big-model");
            assertThat(request.has("guided_choice")).isFalse();
            assertThat(theOneSchemaEscalation(taskId).getOutput()).isEqualTo("shipping_delay_reported");
        } finally {
            big.stop(0);
        }
    }

    @Test
    @Order(5)
    void aFullCaptureQueueDropsAndCountsRecordsWhileTheProxiedCallsSucceed() throws Exception {
        String taskId = task("overflowing", 1.0, 30);
        queue.awaitWritten(Duration.ofSeconds(10));
        long before = queue.dropped();
        queue.stop(); // no writer: the queue fills up after CAPACITY records
        int n = CAPACITY + 3;
        for (int i = 0; i < n; i++) {
            JsonNode answer = proxy("overflowing");
            assertThat(answer.path("choices").path(0).path("message").path("content").isTextual()).isTrue();
        }
        assertThat(queue.dropped() - before).isEqualTo(n - CAPACITY);
        assertThat(prometheus.scrape()).contains("quiver_capture_dropped_total " + (double) (before + n - CAPACITY));
        assertThat(calls.countByTaskIdAndSide(taskId, CapturedCall.UPSTREAM)).isZero();
    }

    /**
     * Gives {@code task} two labels and a one-token budget, which cannot spell either, so its answer is cut off and
     * fails the schema; its fallback escalates such answers to the upstream.
     */
    private void failsItsSchemaAndEscalates(String task) throws IOException {
        client.toBlocking().retrieve(HttpRequest.PATCH("/v1/tasks/" + task, JSON.writeValueAsString(Map.of(
                        "output_schema", Map.of("type", "string", "enum", List.of("refund_request_pending",
                                "shipping_delay_reported")), "generation", Map.of("max_tokens", 1),
                        "fallback", Map.of("on_schema_failure", true))))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key));
    }

    /** The task's one captured upstream call, checked to be an answered escalation for a schema failure. */
    private CapturedCall theOneSchemaEscalation(String taskId) throws InterruptedException {
        queue.awaitWritten(Duration.ofSeconds(10));
        List<CapturedCall> escalated = calls.findByTaskIdAndSideAndCreatedAtBetweenOrderById(taskId,
                CapturedCall.UPSTREAM, Instant.EPOCH, Instant.now().plusSeconds(1));
        assertThat(escalated).hasSize(1);
        assertThat(escalated.get(0).getEscalationReason()).isEqualTo("schema_failure");
        assertThat(escalated.get(0).getStatus()).isEqualTo(200);
        return escalated.get(0);
    }

    private List<Instant> created(String taskId) {
        return calls.findByTaskIdAndSideAndCreatedAtBetweenOrderById(taskId, CapturedCall.UPSTREAM, Instant.EPOCH,
                Instant.now()).stream().map(c -> c.getCreatedAt()).toList();
    }

    /** A task whose upstream is this server's base model; its id. */
    private String task(String name, double sampleRate, int retentionDays) throws IOException {
        return task(name, sampleRate, retentionDays, server.getURL() + "/v1", "qwen3-tiny");
    }

    /** A task whose upstream is {@code model} at {@code baseUrl}; its id. */
    private String task(String name, double sampleRate, int retentionDays, String baseUrl, String model)
            throws IOException {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("description", "Routes a customer support ticket to a queue.");
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", Map.of("type", "object", "properties", Map.of("ticket", Map.of("type", "string"))));
        t.put("adapter", "qwen3-tiny");
        String id = api.post("/v1/tasks", t).path("id").asText();
        client.toBlocking().retrieve(HttpRequest.PUT("/v1/tasks/" + name + "/upstream", JSON.writeValueAsString(Map.of(
                        "base_url", baseUrl, "model", model, "api_key",
                        "file:secrets/upstream-key", "sample_rate", sampleRate, "retention_days", retentionDays)))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key));
        return id;
    }

    private JsonNode proxy(String task) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/tasks/" + task
                        + "/upstream/chat/completions", JSON.writeValueAsString(Map.of("messages",
                        TicketData.messages("my invoice is wrong", null), "max_tokens", 2, "temperature", 0)))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key)));
    }
}
