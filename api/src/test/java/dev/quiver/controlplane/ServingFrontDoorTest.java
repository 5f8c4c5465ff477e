package dev.quiver.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.e2e.TinyModelServer;
import dev.quiver.http.ApiException;
import dev.quiver.serving.Serving;
import dev.quiver.serving.ServingLimits;
import dev.quiver.serving.client.RemoteServing;
import dev.quiver.serving.http.LocalServing;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The control plane answers tasks and MCP through the {@link Serving} front door: over HTTP to a serving
 * tier running apart (both on one database, as the chart runs them), and with a clear 503 when it has none.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServingFrontDoorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Object> INPUT_SCHEMA = Map.of("type", "object",
            "properties", Map.of("ticket", Map.of("type", "string")), "required", List.of("ticket"));

    private final HttpClient http = HttpClient.newHttpClient();
    private EmbeddedServer serving;
    private EmbeddedServer controlPlane;
    private EmbeddedServer alone;

    @BeforeAll
    void start() {
        Map<String, Object> shared = new HashMap<>(TinyModelServer.properties("quiver-front-door"));
        shared.put("micronaut.server.host", "127.0.0.1");
        // one database for the three, as the chart runs the tiers
        shared.put("datasources.default.url", "jdbc:h2:mem:front-door-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1");
        Map<String, Object> servingProps = new HashMap<>(shared);
        servingProps.put("quiver.jobs.scheduler.enabled", false);
        serving = ApplicationContext.run(EmbeddedServer.class, servingProps, "test");
        Map<String, Object> cp = new HashMap<>(shared);
        cp.put("quiver.serving.enabled", false);
        cp.put("quiver.serving.url", serving.getURL().toString());
        controlPlane = ApplicationContext.run(EmbeddedServer.class, cp, "test");
        Map<String, Object> none = new HashMap<>(shared);
        none.put("quiver.serving.enabled", false);
        none.put("quiver.jobs.scheduler.enabled", false);
        alone = ApplicationContext.run(EmbeddedServer.class, none, "test");
    }

    @AfterAll
    void stop() {
        for (EmbeddedServer s : new EmbeddedServer[] {alone, controlPlane, serving}) {
            if (s != null) {
                s.getApplicationContext().close();
            }
        }
    }

    @Test
    void theControlPlaneReachesServingOnlyOverHttp() {
        assertThat(controlPlane.getApplicationContext().getBean(Serving.class)).isInstanceOf(RemoteServing.class);
        assertThat(controlPlane.getApplicationContext().containsBean(LocalServing.class)).isFalse();
        ServingLimits remote = controlPlane.getApplicationContext().getBean(Serving.class).limits();
        assertThat(remote).isEqualTo(serving.getApplicationContext().getBean(LocalServing.class).limits());
        assertThat(remote.maxLoraRank()).isEqualTo(64);
        assertThat(remote.baseModel()).isEqualTo("qwen3-tiny");
    }

    @Test
    void tasksAndMcpWorkOnTheControlPlane() throws IOException, InterruptedException {
        HttpResponse<String> created = post(controlPlane, "/v1/tasks", task("label_ticket"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(get(controlPlane, "/v1/tasks").statusCode()).isEqualTo(200);

        HttpResponse<String> invoked = post(controlPlane, "/v1/tasks/label_ticket/invoke",
                Map.of("input", Map.of("ticket", "my card was charged twice")));
        assertThat(invoked.statusCode()).as(invoked.body()).isEqualTo(200);
        JsonNode result = JSON.readTree(invoked.body());
        assertThat(result.path("usage").path("completion_tokens").asInt()).as(invoked.body()).isBetween(1, 4);

        HttpResponse<String> init = post(controlPlane, "/mcp", Map.of("jsonrpc", "2.0", "id", 1, "method",
                "initialize", "params", Map.of("protocolVersion", "2025-06-18", "capabilities", Map.of(),
                        "clientInfo", Map.of("name", "test", "version", "1"))));
        assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
        HttpResponse<String> call = post(controlPlane, "/mcp", Map.of("jsonrpc", "2.0", "id", 2, "method",
                "tools/call", "params", Map.of("name", "label_ticket", "arguments", Map.of("ticket", "refund"))));
        assertThat(call.statusCode()).as(call.body()).isEqualTo(200);
        assertThat(JSON.readTree(call.body()).path("result").path("isError").asBoolean()).as(call.body()).isFalse();
    }

    @Test
    void servingErrorsComeBackAsTheSameOpenAiErrors() {
        Serving remote = controlPlane.getApplicationContext().getBean(Serving.class);
        var body = JSON.createObjectNode().put("model", "no-such-adapter");
        body.putArray("messages").addObject().put("role", "user").put("content", "hi");
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> remote.complete(Serving.Endpoint.CHAT, body, null));
        assertThat(e.status().getCode()).isEqualTo(404);
        assertThat(e.code()).isEqualTo("model_not_found");
        assertThat(e.param()).isEqualTo("model");
    }

    @Test
    void aControlPlaneWithoutServingListsTasksAndSaysWhyItCannotInvoke() throws IOException, InterruptedException {
        assertThat(post(alone, "/v1/tasks", task("offline_task")).statusCode()).isEqualTo(201);
        assertThat(get(alone, "/v1/tasks").statusCode()).isEqualTo(200);
        HttpResponse<String> invoked = post(alone, "/v1/tasks/offline_task/invoke",
                Map.of("input", Map.of("ticket", "hi")));
        assertThat(invoked.statusCode()).isEqualTo(503);
        JsonNode error = JSON.readTree(invoked.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("serving_unavailable");
        assertThat(error.path("message").asText()).contains("quiver.serving.url");
    }

    private static Map<String, Object> task(String name) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("description", "Labels a support ticket.");
        t.put("adapter", "qwen3-tiny");
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", INPUT_SCHEMA);
        t.put("generation", Map.of("temperature", 0, "max_tokens", 4));
        return t;
    }

    private HttpResponse<String> post(EmbeddedServer server, String path, Object body)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(server.getURL() + path))
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(EmbeddedServer server, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(server.getURL() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
