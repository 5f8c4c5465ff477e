package dev.quiver.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.TicketData;
import dev.quiver.e2e.TinyModelServer;
import dev.quiver.finetune.runner.RunnerSpec;
import dev.quiver.server.Hashes;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The runner's reports as the control plane takes them: a resent event is stored once and numbers go on in the
 * next spec, a call that fails here is a 500 error object naming the job, and a quiet runner counts as stalled.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunnerReportsApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    @Inject
    JobService jobs;

    private String key;
    private String trainingFile;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> p = new HashMap<>(TinyModelServer.properties("quiver-reports"));
        // no runner is ever started here: the test plays the runner
        p.put("quiver.jobs.max-concurrent", "0");
        return p;
    }

    @BeforeAll
    void setUp() throws IOException {
        key = keys.create("reports", "test").key();
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", "t.jsonl", MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        TicketData.jsonl().getBytes(StandardCharsets.UTF_8)).build();
        trainingFile = JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key))).path("id").asText();
    }

    @Test
    void aResentEventIsStoredOnceAndTheNextAttemptNumbersOn() throws IOException {
        String id = runningJob("token-a");

        assertThat(event(id, "token-a", 1, "first").path("duplicate").asBoolean()).isFalse();
        assertThat(event(id, "token-a", 2, "second").path("duplicate").asBoolean()).isFalse();
        assertThat(event(id, "token-a", 2, "second").path("duplicate").asBoolean()).isTrue();

        JsonNode events = JSON.readTree(client.toBlocking().retrieve(HttpRequest.GET("/v1/fine_tuning/jobs/" + id
                + "/events?limit=100").bearerAuth(key))).path("data");
        assertThat(events.findValues("seq").stream().filter(n -> !n.isNull()).map(JsonNode::asLong))
                .containsExactly(2L, 1L);
        RunnerSpec spec = RunnerSpec.fromJson(client.toBlocking().retrieve(HttpRequest.GET("/v1/internal/jobs/" + id
                + "/spec").bearerAuth("token-a")));
        assertThat(spec.nextEventSeq()).isEqualTo(3);
    }

    @Test
    void aRunnerCallThatFailsHereIsA500ErrorObjectNamingTheJob() {
        String id = runningJob("token-b");
        // more data than the event log's column holds: the database refuses it
        Map<String, Object> tooBig = Map.of("seq", 1, "level", "info", "type", "metrics", "message", "m",
                "data", Map.of("blob", "x".repeat(9000)));

        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.POST("/v1/internal/jobs/" + id + "/events", tooBig)
                        .bearerAuth("token-b")));

        assertThat(e.getStatus().getCode()).isEqualTo(500);
        String body = e.getResponse().getBody(String.class).orElse("");
        assertThat(body).contains("\"type\":\"server_error\"").contains("call of job " + id)
                .contains("its log has the cause").doesNotContain("\tat ").doesNotContain("Exception:");
    }

    @Test
    void aRunnerHeardFromLongerAgoThanTheTimeoutIsStalled() {
        String id = runningJob("token-c");
        assertThat(jobs.find(id).orElseThrow().getHeartbeatAt()).as("no runner call yet").isNull();
        StalledJobs stalled = new StalledJobs(Duration.ofSeconds(60));
        assertThat(stalled.reason(jobs.find(id).orElseThrow(), Instant.now().plusSeconds(3600))).isEmpty();

        client.toBlocking().retrieve(HttpRequest.POST("/v1/internal/jobs/" + id + "/heartbeat", "")
                .bearerAuth("token-c"));
        FineTuningJob job = jobs.find(id).orElseThrow();

        assertThat(job.getHeartbeatAt()).isNotNull();
        assertThat(stalled.reason(job, job.getHeartbeatAt().plusSeconds(30))).isEmpty();
        assertThat(stalled.reason(job, job.getHeartbeatAt().plusSeconds(61))).hasValue("the training process"
                + " reported no progress for 61 s (quiver.jobs.stall-timeout is 60 s)");
    }

    private String runningJob(String token) {
        String id;
        try {
            id = JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/fine_tuning/jobs",
                    Map.of("model", "qwen3-tiny", "training_file", trainingFile)).bearerAuth(key))).path("id").asText();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        assertThat(jobs.claim(id, Hashes.sha256(token))).isTrue();
        return id;
    }

    private JsonNode event(String id, String token, long seq, String message) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/internal/jobs/" + id + "/events",
                Map.of("seq", seq, "level", "info", "type", "message", "message", message)).bearerAuth(token)));
    }
}
