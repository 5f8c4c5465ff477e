package dev.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.auth.ApiKeyService;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A task end to end on the tiny model: upload tickets, create the task with its training file (one step),
 * see it answer 503 while its job trains, then get the learned labels over HTTP and through the MCP SDK's
 * own client; then the documented errors, a rollback, and the statistics.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskEndToEndTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TASK = "label_ticket";

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    EmbeddedServer server;

    @Inject
    ApiKeyService keys;

    @Inject
    PrometheusMeterRegistry prometheus;

    private String key;
    private ApiClient api;

    @Override
    public Map<String, String> getProperties() {
        return TinyModelServer.properties("quiver-e2e-tasks");
    }

    @Test
    void aTaskLearnsFromItsTrainingFileAndAnswersOverHttpAndMcp() throws Exception {
        key = keys.create("e2e-tasks", "test").key();
        api = new ApiClient(client, key);
        String file = api.upload("tickets.jsonl", TicketData.jsonl()).path("id").asText();

        JsonNode created = send(HttpRequest.POST("/v1/tasks", json(taskWithTrainingFile(file))));
        String jobId = created.path("training_job").asText();
        assertThat(created.path("status").asText()).isEqualTo("training");
        assertThat(created.path("adapter").isNull()).isTrue();
        assertThat(api.get("/v1/fine_tuning/jobs/" + jobId).path("task").asText()).isEqualTo(TASK);

        HttpClientResponseException notReady = error(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke",
                json(input("my invoice is wrong"))));
        JsonNode notReadyError = body(notReady);
        assertThat(notReady.code()).isEqualTo(503);
        assertThat(notReady.getResponse().getHeaders().get("Retry-After")).isEqualTo("5");
        assertThat(notReadyError.path("code").asText()).isEqualTo("task_not_ready");
        assertThat(notReadyError.path("job").path("id").asText()).isEqualTo(jobId);
        assertThat(notReadyError.path("job").path("status").asText()).isIn("queued", "running");

        List<JsonNode> events = api.events(jobId);
        String adapter = "ft:qwen3-tiny:" + TASK + ":" + jobId + "@1";
        assertThat(events).anyMatch(e -> e.path("message").asText().startsWith("Task '" + TASK + "' now runs on "
                + adapter));
        JsonNode ready = api.get("/v1/tasks/" + TASK);
        assertThat(ready.path("status").asText()).as(events.toString()).isEqualTo("ready");
        assertThat(ready.path("adapter").asText()).isEqualTo(adapter);
        assertThat(ready.path("revision").asInt()).isEqualTo(1);

        for (Map.Entry<String, List<String>> e : TicketData.TICKETS.entrySet()) {
            JsonNode answer = send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke",
                    json(input(e.getValue().get(1)))));
            assertThat(answer.path("output").asText()).isEqualTo(e.getKey());
            assertThat(answer.path("adapter").asText()).isEqualTo(adapter);
            assertThat(answer.path("usage").path("completion_tokens").asInt()).isPositive();
        }

        try (McpSyncClient mcp = McpClients.connect(server.getURL().toString(), key)) {
            McpSchema.InitializeResult init = mcp.initialize();
            assertThat(init.serverInfo().name()).isEqualTo("quiver");
            assertThat(init.capabilities().tools()).isNotNull();

            McpSchema.Tool tool = mcp.listTools().tools().stream().filter(t -> t.name().equals(TASK)).findFirst()
                    .orElseThrow();
            assertThat(tool.description()).isEqualTo("Labels a customer support ticket.");
            assertThat(tool.inputSchema().get("required")).isEqualTo(List.of("ticket"));
            assertThat(tool.outputSchema().get("required")).isEqualTo(List.of("output"));

            for (Map.Entry<String, List<String>> e : TicketData.TICKETS.entrySet()) {
                McpSchema.CallToolResult result = mcp.callTool(new McpSchema.CallToolRequest(TASK,
                        Map.of("ticket", e.getValue().get(1))));
                assertThat(result.isError()).isFalse();
                assertThat(result.structuredContent()).isEqualTo(Map.of("output", e.getKey()));
                assertThat(((McpSchema.TextContent) result.content().get(0)).text()).isEqualTo(e.getKey());
            }

            McpSchema.CallToolResult invalid = mcp.callTool(new McpSchema.CallToolRequest(TASK,
                    Map.of("ticket", 42)));
            assertThat(invalid.isError()).isTrue();
            assertThat(((McpSchema.TextContent) invalid.content().get(0)).text())
                    .isEqualTo("input.ticket: integer found, string expected");

            McpError unknown = catchThrowableOfType(McpError.class, () -> mcp.callTool(
                    new McpSchema.CallToolRequest("no_such_task", Map.of())));
            assertThat(unknown.getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        }

        JsonNode invalid = body(error(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke",
                json(Map.of("input", Map.of("ticket", 42))))));
        assertThat(invalid.path("param").asText()).isEqualTo("input.ticket");
        HttpClientResponseException unknown = error(HttpRequest.POST("/v1/tasks/no_such_task/invoke",
                json(input("x"))));
        assertThat(unknown.code()).isEqualTo(404);
        assertThat(body(unknown).path("message").asText()).isEqualTo("No such task: 'no_such_task'");

        send(HttpRequest.PATCH("/v1/tasks/" + TASK, json(Map.of("adapter", "qwen3-tiny"))));
        JsonNode untrained = send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke",
                json(input("my invoice is wrong"))));
        assertThat(untrained.path("output").asText()).as("even the untrained base decodes under the output schema")
                .isIn(TicketData.TICKETS.keySet());
        JsonNode rolledBack = send(HttpRequest.POST("/v1/tasks/" + TASK + "/rollback", json(Map.of())));
        assertThat(rolledBack.path("adapter").asText()).isEqualTo(adapter);
        String billing = TicketData.TICKETS.get("billing").get(1);
        assertThat(send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke", json(input(billing))))
                .path("output").asText()).isEqualTo("billing");
        assertThat(api.get("/v1/tasks/" + TASK + "/versions").path("data").findValuesAsText("reason"))
                .containsExactly("fine_tuned", "updated");

        JsonNode stats = api.get("/v1/tasks/" + TASK + "/stats");
        assertThat(stats.path("calls").asLong()).isEqualTo(2 * TicketData.TICKETS.size() + 5);
        assertThat(stats.path("errors").asLong()).isEqualTo(3);
        assertThat(stats.path("errors_by_code").path("task_not_ready").asLong()).isEqualTo(1);
        assertThat(stats.path("errors_by_code").path("invalid_input").asLong()).isEqualTo(2);
        assertThat(stats.path("errors_by_code").has("output_schema_mismatch")).isFalse();
        assertThat(stats.path("tokens_out").asLong()).isPositive();
        assertThat(stats.path("latency_ms").path("p99").asDouble())
                .isGreaterThanOrEqualTo(stats.path("latency_ms").path("p50").asDouble()).isPositive();
        String metrics = prometheus.scrape();
        assertThat(metrics).containsPattern("quiver_task_calls_total\\{project=\"e2e-tasks\",task=\"" + TASK
                + "\"} " + (2 * TicketData.TICKETS.size() + 5));
        assertThat(metrics).contains("quiver_task_latency_seconds{project=\"e2e-tasks\",task=\"" + TASK
                + "\",quantile=\"0.99\"}");
    }

    private static Map<String, Object> taskWithTrainingFile(String file) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", TASK);
        t.put("description", "Labels a customer support ticket.");
        t.put("system_prompt", TicketData.SYSTEM);
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", Map.of("type", "object", "properties", Map.of("ticket", Map.of("type", "string",
                "description", "the customer's message")), "required", List.of("ticket")));
        t.put("output_schema", Map.of("type", "string", "enum", List.copyOf(TicketData.TICKETS.keySet())));
        t.put("generation", Map.of("temperature", 0, "max_tokens", 4));
        t.put("training_file", file);
        t.put("seed", 7);
        t.put("hyperparameters", Map.of("n_epochs", 20, "batch_size", 5, "learning_rate", 0.005, "lora_rank", 8));
        return t;
    }

    private static Map<String, Object> input(String ticket) {
        return Map.of("input", Map.of("ticket", ticket));
    }



    private static String json(Object value) throws IOException {
        return JSON.writeValueAsString(value);
    }


    private JsonNode send(MutableHttpRequest<?> request) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(request.contentType(MediaType.APPLICATION_JSON_TYPE)
                .bearerAuth(key)));
    }

    private HttpClientResponseException error(MutableHttpRequest<?> request) {
        try {
            client.toBlocking().exchange(request.contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key),
                    String.class);
        } catch (HttpClientResponseException e) {
            return e;
        }
        throw new AssertionError("expected an error from " + request.getMethod() + " " + request.getPath());
    }

    private static JsonNode body(HttpClientResponseException e) throws IOException {
        return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}")).path("error");
    }
}
