package dev.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.testing.QuiverProcess;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Helm chart's topology on one machine: one {@code quiver control-plane} (local launcher) and two
 * {@code quiver serve} processes on one PostgreSQL database and one data dir. A tenant uploads tickets,
 * fine-tunes the tiny model through a task, calls the fine-tuned model on both serving processes, invokes
 * the task on the control plane over HTTP and over MCP; then every process stops on SIGTERM with exit 0
 * within its grace period. PostgreSQL comes from {@code QUIVER_TEST_PG_URL} (started by {@code .ci/run}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TopologyEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TASK = "label_ticket";
    private static final Duration GRACE = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Role> roles = new ArrayList<>();
    private Path root;

    /** One child process of a Quiver role, with its log. */
    private record Role(String name, Process process, Path log, String url) {
        String tail() {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    @Test
    void controlPlaneAndTwoServingReplicasOnOneDatabase() throws Exception {
        String pgUrl = System.getenv("QUIVER_TEST_PG_URL");
        if (Boolean.parseBoolean(System.getenv("QUIVER_TEST_PG_REQUIRED"))) {
            assertThat(pgUrl).as("QUIVER_TEST_PG_URL (set by .ci/run)").isNotBlank();
        }
        Assumptions.assumeTrue(pgUrl != null, "PostgreSQL not configured: run through .ci/run");
        resetDatabase(pgUrl);
        root = Files.createTempDirectory("quiver-topology");
        Path model = root.resolve("qwen3-tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
        Path data = Files.createDirectories(root.resolve("data"));
        Map<String, String> env = new HashMap<>();
        env.put("QUIVER_DB_URL", pgUrl);
        env.put("QUIVER_DB_USER", System.getenv().getOrDefault("QUIVER_TEST_PG_USER", "quiver"));
        env.put("QUIVER_DB_PASSWORD", System.getenv().getOrDefault("QUIVER_TEST_PG_PASSWORD", "quiver"));
        env.put("QUIVER_INTERNAL_TOKEN", UUID.randomUUID().toString());
        env.put("QUIVER_SHUTDOWN_GRACE_PERIOD", GRACE.toSeconds() + "s");
        List<String> common = List.of("--data-dir", data.toString(), "--base-model", model.toString());

        String key = keysCreate(env, data);
        int[] ports = {freePort(), freePort(), freePort()};
        Map<String, String> cpEnv = new HashMap<>(env);
        cpEnv.put("QUIVER_SERVING_URL", "http://127.0.0.1:" + ports[1]);
        cpEnv.put("QUIVER_JOBS_POLL_INTERVAL", "200ms");
        cpEnv.put("QUIVER_JOBS_RUNNER_THREADS", "1");
        cpEnv.put("QUIVER_JOBS_RUNNER_HEAP", "1g");
        Role cp = start("control-plane", ports[0], cpEnv, common);
        Role serveA = start("serve", ports[1], env, common);
        Role serveB = start("serve", ports[2], env, common);
        for (Role r : roles) {
            awaitReady(r);
        }

        String file = upload(cp, key, TicketData.jsonl());
        JsonNode created = call(cp, key, "POST", "/v1/tasks", task(file), 201);
        String jobId = created.path("training_job").asText();
        JsonNode job = awaitJob(cp, key, jobId);
        assertThat(job.path("status").asText()).as(job.toString()).isEqualTo("succeeded");
        String adapter = job.path("fine_tuned_model").asText();

        for (Map.Entry<String, List<String>> t : TicketData.TICKETS.entrySet()) {
            Map<String, Object> chat = Map.of("model", adapter, "temperature", 0, "max_tokens", 4, "messages",
                    List.of(Map.of("role", "system", "content", TicketData.SYSTEM),
                            Map.of("role", "user", "content", "Ticket: " + t.getValue().get(1))));
            String a = call(serveA, key, "POST", "/v1/chat/completions", chat, 200).path("choices").path(0)
                    .path("message").path("content").asText();
            String b = call(serveB, key, "POST", "/v1/chat/completions", chat, 200).path("choices").path(0)
                    .path("message").path("content").asText();
            assertThat(b).as("both replicas serve the same adapter").isEqualTo(a);
            JsonNode invoked = call(cp, key, "POST", "/v1/tasks/" + TASK + "/invoke",
                    Map.of("input", Map.of("ticket", t.getValue().get(1))), 200);
            assertThat(invoked.path("output").asText()).isEqualTo(t.getKey());
            assertThat(invoked.path("adapter").asText()).startsWith(adapter);
        }

        try (McpSyncClient mcp = McpClients.connect(cp.url(), key)) {
            mcp.initialize();
            for (Map.Entry<String, List<String>> t : TicketData.TICKETS.entrySet()) {
                McpSchema.CallToolResult result = mcp.callTool(new McpSchema.CallToolRequest(TASK,
                        Map.of("ticket", t.getValue().get(1))));
                assertThat(result.isError()).as(result.toString()).isFalse();
                assertThat(result.structuredContent()).isEqualTo(Map.of("output", t.getKey()));
            }
        }

        for (Role r : roles) {
            r.process().destroy(); // SIGTERM
        }
        for (Role r : roles) {
            boolean exited = r.process().waitFor(GRACE.toSeconds() + 10, TimeUnit.SECONDS);
            assertThat(exited).as(r.name() + " stops within its grace period\n" + r.tail()).isTrue();
            assertThat(r.process().exitValue()).as(r.name() + " exits 0\n" + r.tail()).isZero();
            assertThat(Files.readString(r.log())).as(r.name() + " logs no stack trace on a normal stop")
                    .doesNotContain("\tat ");
        }
    }

    @AfterAll
    void killLeftovers() {
        for (Role r : roles) {
            r.process().descendants().forEach(ProcessHandle::destroyForcibly);
            r.process().destroyForcibly();
        }
    }

    private static void resetDatabase(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url,
                System.getenv().getOrDefault("QUIVER_TEST_PG_USER", "quiver"),
                System.getenv().getOrDefault("QUIVER_TEST_PG_PASSWORD", "quiver"));
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS public CASCADE");
            s.execute("CREATE SCHEMA public");
        }
    }

    private String keysCreate(Map<String, String> env, Path data) throws Exception {
        Path log = root.resolve("keys.log");
        Process p = command(env, List.of("keys", "create", "--project", "e2e", "--data-dir", data.toString()))
                .redirectError(log.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(log)).isZero();
        return out;
    }

    private Role start(String role, int port, Map<String, String> env, List<String> common) throws IOException {
        List<String> args = new ArrayList<>(List.of(role, "--port", String.valueOf(port)));
        args.addAll(common);
        Path log = root.resolve(role + "-" + port + ".log");
        Process p = command(env, args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Role r = new Role(role + ":" + port, p, log, "http://127.0.0.1:" + port);
        roles.add(r);
        return r;
    }

    private static ProcessBuilder command(Map<String, String> env, List<String> args) {
        ProcessBuilder pb = QuiverProcess.command(args);
        pb.environment().putAll(env);
        return pb;
    }

    private void awaitReady(Role r) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            assertThat(r.process().isAlive()).as(r.name() + " died while starting\n" + r.tail()).isTrue();
            try {
                HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(r.url() + "/health/readiness"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (h.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            r.process().waitFor(200, TimeUnit.MILLISECONDS);
        }
        throw new AssertionError(r.name() + " was not ready within 120 s\n" + r.tail());
    }

    /** Follows the job's events (SSE, until it ends), then returns the job. */
    private JsonNode awaitJob(Role cp, String key, String jobId) throws Exception {
        HttpResponse<String> events = http.send(HttpRequest.newBuilder(URI.create(cp.url()
                        + "/v1/fine_tuning/jobs/" + jobId + "/events?stream=true"))
                .header("Authorization", "Bearer " + key).header("Accept", "text/event-stream")
                .timeout(Duration.ofMinutes(8)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(events.statusCode()).isEqualTo(200);
        return call(cp, key, "GET", "/v1/fine_tuning/jobs/" + jobId, null, 200);
    }

    private String upload(Role cp, String key, String jsonl) throws Exception {
        String boundary = "quiver" + UUID.randomUUID();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tickets.jsonl\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n" + jsonl + "\r\n--" + boundary + "--\r\n";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cp.url() + "/v1/files"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
        return JSON.readTree(r.body()).path("id").asText();
    }

    private JsonNode call(Role r, String key, String method, String path, Object body, int expected)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(r.url() + path)).timeout(Duration.ofMinutes(2))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        HttpResponse<String> response = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(method + " " + r.name() + path + ": " + response.body()
                + "\n" + r.tail()).isEqualTo(expected);
        return JSON.readTree(response.body());
    }

    private static Map<String, Object> task(String file) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", TASK);
        t.put("description", "Labels a customer support ticket.");
        t.put("system_prompt", TicketData.SYSTEM);
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", Map.of("type", "object", "properties", Map.of("ticket", Map.of("type", "string")),
                "required", List.of("ticket")));
        t.put("output_schema", Map.of("type", "string", "enum", List.copyOf(TicketData.TICKETS.keySet())));
        t.put("generation", Map.of("temperature", 0, "max_tokens", 4));
        t.put("training_file", file);
        t.put("seed", 7);
        t.put("hyperparameters", Map.of("n_epochs", 20, "batch_size", 5, "learning_rate", 0.005, "lora_rank", 8));
        return t;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
