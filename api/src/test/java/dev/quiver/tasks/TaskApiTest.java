package dev.quiver.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.serving.http.ServingEngine;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The tasks API, tool definitions and the MCP endpoint's protocol edges over real HTTP, on the generated
 * tiny model (no fine-tuning here: tasks run on the base model or on imported adapters).
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Object> TICKET_SCHEMA = Map.of("type", "object",
            "properties", Map.of("ticket", Map.of("type", "string"),
                    "priority", Map.of("enum", List.of("low", "high"))),
            "required", List.of("ticket"), "additionalProperties", false);

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    @Inject
    ServingEngine serving;

    private Path root;
    private String key;
    private String otherKey;

    @Override
    public Map<String, String> getProperties() {
        try {
            root = Files.createTempDirectory("quiver-tasks");
            Path model = root.resolve("qwen3-tiny");
            DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.data-dir", root.resolve("data").toString(),
                    "quiver.jobs.poll-interval", "1h");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @BeforeAll
    void keys() {
        key = keys.create("tasks", "test").key();
        otherKey = keys.create("elsewhere", "test").key();
    }

    @Test
    void createsGetsListsUpdatesAndDeletesATask() throws IOException {
        HttpResponse<String> created = exchange(HttpRequest.POST("/v1/tasks", json(task("crud", "qwen3-tiny"))));
        assertThat(created.code()).isEqualTo(201);
        assertThat(created.getHeaders().get("Location")).isEqualTo("/v1/tasks/crud");
        JsonNode view = JSON.readTree(created.body());
        assertThat(view.path("object").asText()).isEqualTo("task");
        assertThat(view.path("status").asText()).isEqualTo("ready");
        assertThat(view.path("adapter").asText()).isEqualTo("qwen3-tiny");
        assertThat(view.path("revision").asInt()).isEqualTo(1);
        assertThat(view.path("input_schema")).isEqualTo(JSON.valueToTree(TICKET_SCHEMA));
        assertThat(view.path("generation").path("temperature").asDouble()).isZero();
        assertThat(view.path("generation").path("max_tokens").asInt()).isEqualTo(6);

        assertThat(get("/v1/tasks/crud").path("description").asText()).isEqualTo("Labels a support ticket.");
        assertThat(get("/v1/tasks").path("data").findValuesAsText("name")).contains("crud");

        JsonNode patched = send(HttpRequest.PATCH("/v1/tasks/crud", json(Map.of("description", "Sorts tickets.",
                "generation", Map.of("max_tokens", 3)))));
        assertThat(patched.path("description").asText()).isEqualTo("Sorts tickets.");
        assertThat(patched.path("generation").path("max_tokens").asInt()).isEqualTo(3);
        assertThat(patched.path("prompt_template").asText()).isEqualTo("Ticket: {{ ticket }}");
        assertThat(patched.path("revision").asInt()).as("same adapter, same revision").isEqualTo(1);

        JsonNode deleted = send(HttpRequest.DELETE("/v1/tasks/crud"));
        assertThat(deleted.path("deleted").asBoolean()).isTrue();
        assertThat(error(HttpRequest.GET("/v1/tasks/crud")).code()).isEqualTo(404);
    }

    @Test
    void rejectsBadDefinitionsNamingTheField() throws IOException {
        assertRejected(with(task("bad", "qwen3-tiny"), "name", "not a tool name"), 400, "name");
        assertRejected(with(task("bad", "qwen3-tiny"), "input_schema", Map.of("type", "string")), 400,
                "input_schema.type");
        assertRejected(with(task("bad", "qwen3-tiny"), "input_schema", Map.of("type", "objekt")), 400,
                "input_schema.type");
        assertRejected(with(task("bad", "qwen3-tiny"), "output_schema", Map.of("enum", "not-a-list")), 400,
                "output_schema.enum");
        assertRejected(with(task("bad", "qwen3-tiny"), "prompt_template", "{% if %}"), 400, "prompt_template");
        assertRejected(with(task("bad", "qwen3-tiny"), "input_schema", Map.of("type", "object", "properties",
                Map.of("ticket", Map.of("$ref", "https://example.com/ticket.json")))), 400,
                "input_schema.properties.ticket.$ref");
        assertRejected(with(task("bad", "qwen3-tiny"), "output_schema", Map.of("$ref", "file:///etc/passwd")), 400,
                "output_schema.$ref");
        assertRejected(with(task("bad", "no-such-adapter"), "adapter", "no-such-adapter"), 400, "adapter");
        assertRejected(with(task("bad", "qwen3-tiny"), "inputSchema", Map.of()), 400, "inputSchema");
        assertRejected(with(task("bad", "qwen3-tiny"), "generation", Map.of("temperature", 3)), 400,
                "generation.temperature");
        Map<String, Object> noAdapter = new LinkedHashMap<>(task("bad", "qwen3-tiny"));
        noAdapter.remove("adapter");
        assertRejected(noAdapter, 400, "adapter");
        assertRejected(with(noAdapter, "training_file", "file-missing"), 400, "training_file");
        assertThat(error(HttpRequest.GET("/v1/tasks/bad")).code()).as("nothing half-created").isEqualTo(404);

        send(HttpRequest.POST("/v1/tasks", json(task("twice", "qwen3-tiny"))));
        assertRejected(task("twice", "qwen3-tiny"), 409, null);
    }

    @Test
    void invokeValidatesTheInputAndNamesTheField() throws IOException {
        send(HttpRequest.POST("/v1/tasks", json(task("strict", "qwen3-tiny"))));
        JsonNode missing = errorBody(HttpRequest.POST("/v1/tasks/strict/invoke", json(Map.of("input", Map.of()))),
                400);
        assertThat(missing.path("param").asText()).isEqualTo("input.ticket");
        assertThat(missing.path("message").asText()).isEqualTo("input.ticket: is required");
        assertThat(missing.path("code").asText()).isEqualTo("invalid_input");

        JsonNode badEnum = errorBody(HttpRequest.POST("/v1/tasks/strict/invoke", json(Map.of("input",
                Map.of("ticket", "x", "priority", "urgent")))), 400);
        assertThat(badEnum.path("message").asText())
                .isEqualTo("input.priority: does not have a value in the enumeration [\"low\", \"high\"]");

        JsonNode extra = errorBody(HttpRequest.POST("/v1/tasks/strict/invoke", json(Map.of("input",
                Map.of("ticket", "x", "colour", "red")))), 400);
        assertThat(extra.path("param").asText()).isEqualTo("input.colour");

        JsonNode notObject = errorBody(HttpRequest.POST("/v1/tasks/strict/invoke", json(Map.of("input", "x"))), 400);
        assertThat(notObject.path("param").asText()).isEqualTo("input");

        JsonNode unknown = errorBody(HttpRequest.POST("/v1/tasks/nope/invoke", json(Map.of("input", Map.of()))),
                404);
        assertThat(unknown.path("message").asText()).isEqualTo("No such task: 'nope'");
    }

    @Test
    void invokeRendersTheTemplateAndRunsTheChatCompletion() throws IOException {
        Map<String, Object> spec = with(freeText(task("plain", "qwen3-tiny")), "system_prompt",
                "Label the ticket.");
        send(HttpRequest.POST("/v1/tasks", json(spec)));

        JsonNode result = send(HttpRequest.POST("/v1/tasks/plain/invoke", json(Map.of("input",
                Map.of("ticket", "my invoice is wrong")))));
        List<Map<String, Object>> messages = List.of(Map.of("role", "system", "content", "Label the ticket."),
                Map.of("role", "user", "content", "Ticket: my invoice is wrong"));
        JsonNode chat = send(HttpRequest.POST("/v1/chat/completions", json(Map.of("model", "qwen3-tiny",
                "temperature", 0, "max_tokens", 6, "messages", messages))));
        String expected = chat.path("choices").get(0).path("message").path("content").asText();
        assertThat(result.path("object").asText()).isEqualTo("task.invocation");
        assertThat(result.path("raw").asText()).isEqualTo(expected);
        assertThat(result.path("output").asText()).isEqualTo(expected.strip());
        assertThat(result.path("adapter").asText()).isEqualTo("qwen3-tiny");
        int promptTokens = serving.tokenizer().encode(serving.template().render(messages, null, true)).length;
        assertThat(result.path("usage").path("prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(result.path("usage").path("completion_tokens").asInt()).isBetween(1, 6);
        assertThat(result.path("latency_ms").asLong()).isNotNegative();
    }

    @Test
    void theAnswerAlwaysDecodesUnderTheOutputSchema() throws IOException {
        // the tiny model has random weights: a valid answer is the constraint's doing
        send(HttpRequest.POST("/v1/tasks", json(task("labels", "qwen3-tiny"))));
        assertThat(invoke("labels").path("output").asText()).isIn("billing", "bug");
        Map<String, Object> ticket = Map.of("type", "object", "properties", Map.of(
                "team", Map.of("enum", List.of("billing", "tech")),
                "urgent", Map.of("type", "boolean"),
                "tags", Map.of("type", "array", "items", Map.of("type", "string", "maxLength", 6), "maxItems", 2)),
                "required", List.of("team", "urgent", "tags"), "additionalProperties", false);
        send(HttpRequest.POST("/v1/tasks", json(with(with(task("ticket", "qwen3-tiny"), "output_schema", ticket),
                "generation", Map.of("temperature", 1.0, "max_tokens", 120)))));
        for (int i = 0; i < 3; i++) {
            JsonNode output = invoke("ticket").path("output");
            assertThat(output.path("team").asText()).isIn("billing", "tech");
            assertThat(output.path("urgent").isBoolean()).as(output.toString()).isTrue();
            assertThat(output.path("tags").size()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void anUndecodableOutputSchemaIsRefusedAtCreationNamingTheKeyword() throws IOException {
        assertRejected(with(task("bounded", "qwen3-tiny"), "output_schema", Map.of("type", "integer",
                "minimum", 0)), 400, "output_schema.minimum");
        assertRejected(with(task("bounded", "qwen3-tiny"), "output_schema", Map.of("$defs", Map.of("n",
                Map.of("type", "array", "items", Map.of("$ref", "#/$defs/n"))), "$ref", "#/$defs/n")), 400,
                "output_schema.$ref(#/$defs/n).items.$ref");
    }

    @Test
    void anAnswerCutByMaxTokensIs422NamingMaxTokens() throws IOException {
        send(HttpRequest.POST("/v1/tasks", json(with(task("picky", "qwen3-tiny"), "output_schema",
                Map.of("const", "a value far longer than three tokens")))));
        JsonNode err = errorBody(HttpRequest.POST("/v1/tasks/picky/invoke", json(Map.of("input",
                Map.of("ticket", "the app crashes")))), 422);
        assertThat(err.path("code").asText()).isEqualTo("output_schema_mismatch");
        assertThat(err.path("type").asText()).isEqualTo("invalid_output_error");
        assertThat(err.path("param").asText()).isEqualTo("max_tokens");
        assertThat(err.path("message").asText()).contains("cut off at max_tokens (6)");
        assertThat(err.path("raw").asText()).startsWith("\"a");

        JsonNode stats = get("/v1/tasks/picky/stats");
        assertThat(stats.path("calls").asLong()).isEqualTo(1);
        assertThat(stats.path("errors").asLong()).isEqualTo(1);
        assertThat(stats.path("errors_by_code").path("output_schema_mismatch").asLong()).isEqualTo(1);
        assertThat(stats.path("tokens_in").asLong()).as("tokens spent count").isPositive();
        assertThat(stats.path("latency_ms").path("p50").asDouble()).isPositive();
    }

    @Test
    void rollbackReturnsToTheAdapterBeforeAndKeepsTheHistory() throws IOException {
        importAdapter("triage", 1);
        importAdapter("triage", 2);
        send(HttpRequest.POST("/v1/tasks", json(freeText(task("route", "triage@1")))));
        JsonNode moved = send(HttpRequest.PATCH("/v1/tasks/route", json(Map.of("adapter", "triage@2"))));
        assertThat(moved.path("adapter").asText()).isEqualTo("triage@2");
        assertThat(moved.path("revision").asInt()).isEqualTo(2);
        assertThat(invoke("route").path("adapter").asText()).isEqualTo("triage@2");

        JsonNode back = send(HttpRequest.POST("/v1/tasks/route/rollback", json(Map.of())));
        assertThat(back.path("adapter").asText()).isEqualTo("triage@1");
        assertThat(back.path("revision").asInt()).isEqualTo(1);
        assertThat(invoke("route").path("adapter").asText()).isEqualTo("triage@1");

        JsonNode history = get("/v1/tasks/route/versions").path("data");
        assertThat(history).hasSize(2);
        assertThat(history.get(0).path("reason").asText()).isEqualTo("created");
        assertThat(history.get(0).path("active").asBoolean()).isTrue();
        assertThat(history.get(1).path("reason").asText()).isEqualTo("updated");
        assertThat(history.get(1).path("rolled_back_at").isNumber()).isTrue();
        assertThat(errorBody(HttpRequest.POST("/v1/tasks/route/rollback", json(Map.of())), 409)
                .path("message").asText()).contains("no earlier adapter");

        send(HttpRequest.POST("/v1/tasks", json(freeText(task("follow", "triage")))));
        assertThat(invoke("follow").path("adapter").asText()).as("a bare name follows the newest version")
                .isEqualTo("triage@2");
    }

    @Test
    void toolDefinitionsAreOpenAiFunctions() throws IOException {
        send(HttpRequest.POST("/v1/tasks", json(task("as_tool", "qwen3-tiny"))));
        JsonNode tool = get("/v1/tasks/as_tool/tool");
        assertThat(tool.path("type").asText()).isEqualTo("function");
        assertThat(tool.path("function").path("name").asText()).isEqualTo("as_tool");
        assertThat(tool.path("function").path("description").asText()).isEqualTo("Labels a support ticket.");
        assertThat(tool.path("function").path("parameters")).isEqualTo(JSON.valueToTree(TICKET_SCHEMA));
        assertThat(get("/v1/tools").path("data").findValuesAsText("name")).contains("as_tool");
        assertThat(JSON.readTree(client.toBlocking().retrieve(HttpRequest.GET("/v1/tools").bearerAuth(otherKey)))
                .path("data")).as("another project's key sees none of these").isEmpty();
    }

    @Test
    void mcpSpeaksStatelessJsonRpc() throws IOException {
        send(HttpRequest.POST("/v1/tasks", json(task("mcp_tool", "qwen3-tiny"))));
        JsonNode list = mcp(Map.of("jsonrpc", "2.0", "id", 1, "method", "tools/list"));
        JsonNode tool = null;
        for (JsonNode t : list.path("result").path("tools")) {
            if (t.path("name").asText().equals("mcp_tool")) {
                tool = t;
            }
        }
        assertThat(tool).isNotNull();
        assertThat(tool.path("inputSchema")).isEqualTo(JSON.valueToTree(TICKET_SCHEMA));
        assertThat(tool.path("outputSchema").path("properties").path("output").path("enum").size()).isEqualTo(2);

        JsonNode bad = mcp(Map.of("jsonrpc", "2.0", "id", 2, "method", "tools/call", "params",
                Map.of("name", "mcp_tool", "arguments", Map.of("ticket", 7))));
        assertThat(bad.path("result").path("isError").asBoolean()).isTrue();
        assertThat(bad.path("result").path("content").get(0).path("text").asText())
                .isEqualTo("input.ticket: integer found, string expected");

        JsonNode unknown = mcp(Map.of("jsonrpc", "2.0", "id", 3, "method", "tools/call", "params",
                Map.of("name", "no_such_tool", "arguments", Map.of())));
        assertThat(unknown.path("error").path("code").asInt()).isEqualTo(-32602);

        HttpResponse<String> note = exchange(HttpRequest.POST("/mcp", json(Map.of("jsonrpc", "2.0",
                "method", "notifications/initialized"))));
        assertThat(note.code()).isEqualTo(202);
        assertThat(error(HttpRequest.GET("/mcp")).code()).isEqualTo(405);
        assertThat(error(HttpRequest.POST("/mcp", json(Map.of("jsonrpc", "2.0", "id", 5, "method", "tools/list")))
                .header("Origin", "http://evil.example")).code()).as("a browser page").isEqualTo(403);
        HttpClientResponseException garbage = error(HttpRequest.POST("/mcp", "{not json"));
        assertThat(garbage.code()).isEqualTo(400);
        assertThat(JSON.readTree(garbage.getResponse().getBody(String.class).orElseThrow()).path("error")
                .path("code").asInt()).isEqualTo(-32700);
        assertThat(error(HttpRequest.POST("/mcp", json(Map.of("jsonrpc", "2.0", "id", 4, "method",
                "tools/list"))).bearerAuth("qk-wrong")).code()).isEqualTo(401);
    }

    private JsonNode mcp(Object message) throws IOException {
        return send(HttpRequest.POST("/mcp", json(message)).accept(MediaType.APPLICATION_JSON_TYPE));
    }

    private JsonNode invoke(String task) throws IOException {
        return send(HttpRequest.POST("/v1/tasks/" + task + "/invoke", json(Map.of("input", Map.of("ticket", "hi")))));
    }

    private static Map<String, Object> task(String name, String adapter) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("description", "Labels a support ticket.");
        t.put("adapter", adapter);
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", TICKET_SCHEMA);
        t.put("output_schema", Map.of("type", "string", "enum", List.of("billing", "bug")));
        t.put("generation", Map.of("temperature", 0, "max_tokens", 6));
        return t;
    }

    /** Without an output schema: any answer is the output. */
    private static Map<String, Object> freeText(Map<String, Object> task) {
        Map<String, Object> t = new LinkedHashMap<>(task);
        t.remove("output_schema");
        return t;
    }

    private static Map<String, Object> with(Map<String, Object> task, String field, Object value) {
        Map<String, Object> t = new LinkedHashMap<>(task);
        t.put(field, value);
        return t;
    }

    private void assertRejected(Map<String, Object> task, int status, String param) throws IOException {
        JsonNode err = errorBody(HttpRequest.POST("/v1/tasks", json(task)), status);
        if (param != null) {
            assertThat(err.path("param").asText()).as(err.toString()).isEqualTo(param);
        }
        assertThat(err.path("message").asText()).isNotBlank();
    }

    /** Imports a random rank-4 adapter as the next version of {@code name}. */
    private void importAdapter(String name, long seed) throws IOException {
        ModelConfig config = serving.base().config();
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        int rank = 4;
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                ModelConfig.LinearShape s = config.linear(m);
                float[] a = new float[rank * s.in()];
                float[] b = new float[s.out() * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextGaussian() * 0.1f;
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) rnd.nextGaussian() * 0.1f;
                }
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, s.in(), s.out(), a, b));
            }
        }
        Path dir = root.resolve("import-" + name + "-" + seed);
        new PeftAdapter(LoraConfig.of(rank, 8.0, false, List.of("q_proj", "v_proj"), 0.0, "qwen3-tiny"), weights)
                .write(dir, DType.F32);
        MultipartBody body = MultipartBody.builder().addPart("name", name)
                .addPart("adapter_config", LoraConfig.FILE, MediaType.APPLICATION_JSON_TYPE,
                        Files.readAllBytes(dir.resolve(LoraConfig.FILE)))
                .addPart("adapter_model", PeftAdapter.WEIGHTS_FILE, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        Files.readAllBytes(dir.resolve(PeftAdapter.WEIGHTS_FILE))).build();
        client.toBlocking().exchange(HttpRequest.POST("/v1/adapters", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key), String.class);
    }

    private static String json(Object value) throws IOException {
        return JSON.writeValueAsString(value);
    }

    private JsonNode get(String path) throws IOException {
        return send(HttpRequest.GET(path));
    }

    private JsonNode send(MutableHttpRequest<?> request) throws IOException {
        return JSON.readTree(exchange(request).body());
    }

    private HttpResponse<String> exchange(MutableHttpRequest<?> request) {
        return client.toBlocking().exchange(request.contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key),
                String.class);
    }

    private HttpClientResponseException error(MutableHttpRequest<?> request) {
        try {
            if (request.getHeaders().getAuthorization().isEmpty()) {
                request.bearerAuth(key);
            }
            client.toBlocking().exchange(request.contentType(MediaType.APPLICATION_JSON_TYPE), String.class);
        } catch (HttpClientResponseException e) {
            return e;
        }
        throw new AssertionError("expected an error from " + request.getMethod() + " " + request.getPath());
    }

    private JsonNode errorBody(MutableHttpRequest<?> request, int status) throws IOException {
        HttpClientResponseException e = error(request);
        String body = e.getResponse().getBody(String.class).orElse("");
        assertThat(e.code()).as(body).isEqualTo(status);
        return JSON.readTree(body).path("error");
    }
}
