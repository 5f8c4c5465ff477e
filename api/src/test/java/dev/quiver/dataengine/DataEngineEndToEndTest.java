package dev.quiver.dataengine;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.capture.CapturedCallRepository;
import dev.quiver.e2e.ApiClient;
import dev.quiver.e2e.McpClients;
import dev.quiver.e2e.TicketData;
import dev.quiver.e2e.TinyModelServer;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
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
import io.modelcontextprotocol.spec.McpSchema;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * The data engine end to end on the tiny model. The "big model" is real: an adapter trained on the ticket
 * data, served by this server's own OpenAI endpoint, reached over HTTP with a key of its own that the task
 * names only as a file reference. 250 calls go through the capture proxy, a dataset is built from them, a
 * student fine-tunes on it and is promoted only because its eval agrees with the upstream; a one-step student
 * is refused with both scores in its events; savings compares the two sides from measured calls.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DataEngineEndToEndTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TASK = "route_ticket";
    private static final String PROJECT = "e2e-data";
    private static final List<String> FRAMINGS = List.of("%s", "hi, %s", "%s, thanks", "urgent: %s",
            "hello team, %s please");
    private static final double MIN_SCORE = 0.7;
    private static final int ESCALATED = 10;

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    EmbeddedServer server;

    @Inject
    ApiKeyService keys;

    @Inject
    CapturedCallRepository captured;

    @Inject
    PrometheusMeterRegistry prometheus;

    private final Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-e2e-data"));
    private final List<String> responses = new ArrayList<>();
    private String key;
    private ApiClient api;

    @Override
    public Map<String, String> getProperties() {
        properties.put("quiver.savings.prices.teacher.model", "ft:qwen3-tiny:teacher:*");
        properties.put("quiver.savings.prices.teacher.input-per-million", "2.50");
        properties.put("quiver.savings.prices.teacher.output-per-million", "10.00");
        properties.put("quiver.savings.serving-dollars-per-hour", "1.20");
        properties.put("quiver.savings.refresh-interval", "1s");
        return properties;
    }

    @Test
    void capturedTrafficBecomesAPromotedAdapterWithMeasuredSavings() throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
        key = keys.create(PROJECT, "agent").key();
        String upstreamKey = keys.create(PROJECT, "upstream").key();
        Path secrets = Path.of(properties.get("quiver.data-dir"), "secrets");
        Files.createDirectories(secrets);
        Files.writeString(secrets.resolve("upstream-key"), upstreamKey);
        api = new ApiClient(client, key);

        String teacher = train(api.upload("tickets.jsonl", TicketData.jsonl()).path("id").asText(), "teacher",
                Map.of("n_epochs", 20, "batch_size", 5, "learning_rate", 0.005, "lora_rank", 8));
        send(HttpRequest.POST("/v1/tasks", json(task(TASK))));
        JsonNode upstream = send(HttpRequest.PUT("/v1/tasks/" + TASK + "/upstream", json(Map.of(
                "base_url", server.getURL() + "/v1", "model", teacher, "api_key", "file:secrets/upstream-key"))));
        assertThat(upstream.path("api_key").asText()).isEqualTo("file:secrets/upstream-key");

        List<Double> proxied = new ArrayList<>();
        for (String ticket : tickets()) {
            long start = System.nanoTime();
            JsonNode answer = send(HttpRequest.POST("/v1/tasks/" + TASK + "/upstream/chat/completions",
                    json(chat(null, ticket))));
            proxied.add((System.nanoTime() - start) / 1e6);
            assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
            assertThat(answer.path("model").asText()).isEqualTo(teacher);
        }
        assertThat(proxied).hasSizeGreaterThanOrEqualTo(200);
        String streamed = raw(HttpRequest.POST("/v1/tasks/" + TASK + "/upstream/chat/completions",
                json(Map.of("messages", TicketData.messages("my invoice is wrong", null), "max_tokens", 4,
                        "temperature", 0, "stream", true))));
        assertThat(streamed).contains("chat.completion.chunk").contains("data: [DONE]");
        double overhead = overheadP50(teacher, upstreamKey);
        System.out.printf("capture proxy overhead p50: %.2f ms%n", overhead);
        assertThat(overhead).as("the proxy adds a loopback hop, never a database write").isLessThan(50);

        JsonNode dataset = send(HttpRequest.POST("/v1/tasks/" + TASK + "/datasets", json(Map.of("seed", 3))));
        JsonNode stats = dataset.path("statistics");
        System.out.println("dataset: " + dataset);
        assertThat(stats.path("captured").asInt()).isEqualTo(tickets().size() + 1 + 30);
        assertThat(stats.path("escalated").asInt()).isZero();
        assertThat(stats.path("near_duplicates").asInt() + stats.path("exact_duplicates").asInt()).isPositive();
        assertThat(stats.path("training_examples").asInt()).isGreaterThan(100);
        assertThat(stats.path("heldout_examples").asInt()).isPositive();
        String heldout = dataset.path("heldout_file").asText();

        JsonNode upstreamEval = awaitEval(send(HttpRequest.POST("/v1/evals", json(Map.of("task", TASK,
                "model", "upstream", "file", heldout)))).path("id").asText());
        assertThat(upstreamEval.path("metrics").path("reference").asText()).isEqualTo("upstream");
        assertThat(upstreamEval.path("metrics").path("agreement").asDouble()).isEqualTo(1.0);

        send(HttpRequest.PUT("/v1/tasks/" + TASK + "/promotion", json(Map.of("metric", "agreement",
                "min_score", MIN_SCORE, "eval_file", heldout))));
        String trainingFile = dataset.path("training_file").asText();
        String student = train(trainingFile, "student", Map.of("n_epochs", 6, "batch_size", 8,
                "learning_rate", 0.005, "lora_rank", 8), TASK);
        String verdict = awaitVerdict(jobOf(student));
        System.out.println("good student: " + verdict);
        String chosen = bestCheckpoint(jobOf(student), student, heldout);
        assertThat(verdict).contains("now runs on " + chosen).contains("passed its promotion policy");
        JsonNode promoted = api.get("/v1/tasks/" + TASK);
        assertThat(promoted.path("adapter").asText()).isEqualTo(chosen);
        JsonNode studentEval = latestEval(chosen);
        System.out.println("student eval: " + studentEval.path("metrics"));
        assertThat(studentEval.path("metrics").path("agreement").asDouble()).isGreaterThanOrEqualTo(MIN_SCORE);

        for (String ticket : tickets().subList(0, 40)) {
            JsonNode answer = send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke", json(Map.of("input",
                    Map.of("ticket", ticket)))));
            assertThat(answer.path("served_by").asText()).isEqualTo("task");
            assertThat(answer.path("escalation_reason").isNull()).isTrue();
        }

        String bad = train(trainingFile, "bad", Map.of("n_epochs", 1, "batch_size", 256, "learning_rate", 1e-7,
                "lora_rank", 8), TASK);
        String refusal = awaitVerdict(jobOf(bad));
        System.out.println("bad student: " + refusal);
        assertThat(refusal).contains("was not promoted").contains("min_score " + String.format("%.3f", MIN_SCORE))
                .contains("current " + chosen);
        assertThat(api.get("/v1/tasks/" + TASK).path("adapter").asText()).isEqualTo(chosen);
        assertThat(api.get("/v1/fine_tuning/jobs/" + jobOf(bad)).path("status").asText()).isEqualTo("succeeded");

        fallback();

        double gauge = awaitGauge("quiver_task_savings_latency_p50\\{project=\"" + PROJECT + "\",side=\"small\",task=\""
                + TASK + "\"} ");
        System.out.println("small side's p50 gauge before any /savings read: " + gauge + " ms");
        JsonNode savings = api.get("/v1/tasks/" + TASK + "/savings?window=1d");
        responses.add(savings.toString());
        System.out.println("savings: " + savings);
        JsonNode big = savings.path("upstream");
        JsonNode small = savings.path("small");
        assertThat(big.path("calls").asLong()).isEqualTo(tickets().size() + 1 + 30 + ESCALATED + 1);
        assertThat(small.path("calls").asLong()).isEqualTo(40 + 2 * ESCALATED + 1);
        assertThat(savings.path("escalations").asLong()).isEqualTo(ESCALATED + 1);
        assertThat(savings.path("escalation_rate").asDouble())
                .isEqualTo((double) (ESCALATED + 1) / (40 + 2 * ESCALATED + 1));
        assertThat(small.path("model").asText()).isEqualTo(chosen);
        for (JsonNode side : List.of(big, small)) {
            assertThat(side.path("latency_ms").path("p50").asDouble()).isPositive();
            assertThat(side.path("latency_ms").path("p95").asDouble())
                    .isGreaterThanOrEqualTo(side.path("latency_ms").path("p50").asDouble());
            assertThat(side.path("tokens_in").asLong()).isPositive();
            assertThat(side.path("tokens_out").asLong()).isPositive();
            assertThat(side.path("cost_usd").asDouble()).isPositive();
            assertThat(side.path("quality").path("file").asText()).isEqualTo(heldout);
        }
        assertThat(big.path("quality").path("score").asDouble()).isEqualTo(1.0);
        assertThat(savings.path("projected_monthly_saving_usd").isNumber()).isTrue();

        JsonNode next = send(HttpRequest.POST("/v1/tasks/" + TASK + "/datasets", json(Map.of("seed", 3))));
        assertThat(next.path("statistics").path("escalated").asInt()).as("the next dataset learns from escalations")
                .isEqualTo(ESCALATED + 1);

        badInput(upstreamKey);

        assertThat(responses).noneMatch(r -> r.contains(upstreamKey));
        assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(upstreamKey)
                || (e.getThrowableProxy() != null && String.valueOf(e.getThrowableProxy().getMessage())
                .contains(upstreamKey)));

        String taskId = api.get("/v1/tasks/" + TASK).path("id").asText();
        send(HttpRequest.DELETE("/v1/tasks/" + TASK));
        assertThat(captured.countByTaskIdAndSide(taskId, "upstream")).isZero();
        assertThat(status(HttpRequest.GET("/v1/files/" + heldout))).isEqualTo(404);
    }

    /**
     * Fallback with learning: a threshold every answer passes escalates nothing, one no answer passes (a mean
     * logprob of 0 means certainty on every token) escalates every call, invoke and MCP alike, to the upstream, which
     * answers; the escalated calls are captured, flagged and counted, and the next dataset includes them.
     */
    private void fallback() throws Exception {
        Map<String, Object> early = new LinkedHashMap<>(task("early_fallback"));
        early.put("fallback", Map.of("on_schema_failure", true));
        HttpClientResponseException noUpstream = error(HttpRequest.POST("/v1/tasks", json(early)));
        assertThat(noUpstream.code()).isEqualTo(400);
        assertThat(body(noUpstream).path("param").asText()).isEqualTo("fallback");
        HttpClientResponseException badThreshold = error(HttpRequest.PATCH("/v1/tasks/" + TASK, json(Map.of(
                "fallback", Map.of("min_mean_logprob", 0.5)))));
        assertThat(body(badThreshold).path("param").asText()).isEqualTo("fallback.min_mean_logprob");

        JsonNode lenient = send(HttpRequest.PATCH("/v1/tasks/" + TASK, json(Map.of("fallback", Map.of(
                "on_schema_failure", true, "min_mean_logprob", -1000.0)))));
        assertThat(lenient.path("fallback").path("min_mean_logprob").asDouble()).isEqualTo(-1000.0);
        List<Double> means = new ArrayList<>();
        for (String ticket : tickets().subList(0, ESCALATED)) {
            JsonNode answer = send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke", json(Map.of("input",
                    Map.of("ticket", ticket)))));
            assertThat(answer.path("served_by").asText()).isEqualTo("task");
            means.add(answer.path("mean_logprob").asDouble());
        }
        System.out.println("mean token logprobs of the student's answers: " + means);
        assertThat(means).allMatch(m -> m < 0 && m > -1000);

        send(HttpRequest.PATCH("/v1/tasks/" + TASK, json(Map.of("fallback", Map.of("min_mean_logprob", 0.0)))));
        for (String ticket : tickets().subList(ESCALATED, 2 * ESCALATED)) {
            JsonNode answer = send(HttpRequest.POST("/v1/tasks/" + TASK + "/invoke", json(Map.of("input",
                    Map.of("ticket", ticket)))));
            System.out.println("escalated: " + answer);
            assertThat(answer.path("served_by").asText()).as(answer.toString()).isEqualTo("upstream");
            assertThat(answer.path("escalation_reason").asText()).isEqualTo("low_logprob");
            assertThat(TicketData.TICKETS).containsKey(answer.path("output").asText());
            assertThat(answer.path("usage").path("completion_tokens").asInt()).isPositive();
        }
        try (McpSyncClient mcp = McpClients.connect(server.getURL().toString(), key)) {
            mcp.initialize();
            McpSchema.CallToolResult result = mcp.callTool(new McpSchema.CallToolRequest(TASK,
                    Map.of("ticket", tickets().get(2 * ESCALATED))));
            assertThat(result.isError()).isFalse();
            assertThat(result.meta()).containsEntry("served_by", "upstream")
                    .containsEntry("escalation_reason", "low_logprob");
        }

        JsonNode stats = api.get("/v1/tasks/" + TASK + "/stats");
        assertThat(stats.path("escalations").asLong()).isEqualTo(ESCALATED + 1);
        assertThat(stats.path("escalations_by_reason").path("low_logprob").asLong()).isEqualTo(ESCALATED + 1);
        assertThat(prometheus.scrape()).containsPattern("quiver_task_escalations_total\\{project=\"" + PROJECT
                + "\",reason=\"low_logprob\",task=\"" + TASK + "\"} " + (ESCALATED + 1));

        JsonNode flagged = api.get("/v1/tasks/" + TASK + "/captures?limit=" + (ESCALATED + 1)).path("data");
        for (JsonNode call : flagged) {
            if (call.path("side").asText().equals("upstream")) {
                assertThat(call.path("escalated").asBoolean()).isTrue();
                assertThat(call.path("escalation_reason").asText()).isEqualTo("low_logprob");
            }
        }
        assertThat(flagged).anyMatch(c -> c.path("side").asText().equals("upstream"));
        HttpClientResponseException inUse = error(HttpRequest.DELETE("/v1/tasks/" + TASK + "/upstream"));
        assertThat(inUse.code()).isEqualTo(409);
    }

    /** Waits for the scheduled savings refresh to publish a positive value for the gauge line {@code prefix}. */
    private double awaitGauge(String prefix) throws InterruptedException {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(prefix + "([0-9.Ee+-]+)");
        for (int i = 0; i < 100; i++) {
            java.util.regex.Matcher m = p.matcher(prometheus.scrape());
            if (m.find() && Double.parseDouble(m.group(1)) > 0) {
                return Double.parseDouble(m.group(1));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no positive gauge " + prefix);
    }

    private void badInput(String upstreamKey) throws IOException {
        send(HttpRequest.POST("/v1/tasks", json(task("unreachable"))));
        send(HttpRequest.PUT("/v1/tasks/unreachable/upstream", json(Map.of("base_url", "http://127.0.0.1:9/v1",
                "model", "big", "api_key", "file:secrets/upstream-key"))));
        HttpClientResponseException down = error(HttpRequest.POST("/v1/tasks/unreachable/upstream/chat/completions",
                json(chat("big", "my invoice is wrong"))));
        assertThat(down.code()).isEqualTo(502);
        assertThat(body(down).path("code").asText()).isEqualTo("upstream_unreachable");
        JsonNode failure = api.get("/v1/tasks/unreachable/captures").path("data").path(0);
        responses.add(failure.toString());
        assertThat(failure.path("status").asInt()).isEqualTo(502);
        assertThat(failure.path("error").asText()).contains("unreachable");
        HttpClientResponseException noData = error(HttpRequest.POST("/v1/tasks/unreachable/datasets", "{}"));
        assertThat(noData.code()).isEqualTo(400);
        assertThat(body(noData).path("message").asText()).contains("1 failed");

        send(HttpRequest.POST("/v1/tasks", json(task("no_calls"))));
        HttpClientResponseException empty = error(HttpRequest.POST("/v1/tasks/no_calls/datasets", "{}"));
        assertThat(empty.code()).isEqualTo(400);
        assertThat(body(empty).path("message").asText()).contains("has no calls captured");

        HttpClientResponseException rawKey = error(HttpRequest.PUT("/v1/tasks/no_calls/upstream", json(Map.of(
                "base_url", "http://127.0.0.1:9/v1", "model", "big", "api_key", upstreamKey))));
        assertThat(rawKey.code()).isEqualTo(400);
        assertThat(body(rawKey).path("param").asText()).isEqualTo("api_key");

        String wrong = TicketData.jsonl().lines().limit(1).findFirst().orElseThrow() + "\n"
                + JSON.writeValueAsString(Map.of("messages", TicketData.messages("hello", "hello there"))) + "\n";
        String wrongFile = api.upload("wrong.jsonl", wrong).path("id").asText();
        HttpClientResponseException badEval = error(HttpRequest.POST("/v1/evals", json(Map.of("task", TASK,
                "model", "qwen3-tiny", "file", wrongFile))));
        assertThat(badEval.code()).isEqualTo(400);
        assertThat(body(badEval).path("message").asText()).contains("wrong.jsonl:2: the reference answer 'hello"
                + " there' does not match the task's output_schema").doesNotContain("wrong.jsonl:1");
    }

    /** The p50 of proxied minus direct calls to the same upstream, interleaved so both see the same load. */
    private double overheadP50(String teacher, String upstreamKey) throws IOException {
        List<Double> direct = new ArrayList<>();
        List<Double> proxied = new ArrayList<>();
        String body = json(chat(teacher, "where is my package"));
        for (int i = 0; i < 30; i++) {
            long a = System.nanoTime();
            client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", body)
                    .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(upstreamKey));
            long b = System.nanoTime();
            send(HttpRequest.POST("/v1/tasks/" + TASK + "/upstream/chat/completions", body));
            long c = System.nanoTime();
            direct.add((b - a) / 1e6);
            proxied.add((c - b) / 1e6);
        }
        System.out.printf("direct p50 %.2f ms, proxied p50 %.2f ms%n", p50(direct), p50(proxied));
        return p50(proxied) - p50(direct);
    }

    private String train(String file, String suffix, Map<String, Object> hyper, String... task) throws IOException {
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("model", "qwen3-tiny");
        job.put("training_file", file);
        job.put("suffix", suffix);
        job.put("seed", 7);
        job.put("hyperparameters", hyper);
        if (task.length > 0) {
            job.put("task", task[0]);
        }
        String id = api.post("/v1/fine_tuning/jobs", job).path("id").asText();
        List<JsonNode> events = api.events(id);
        JsonNode done = api.get("/v1/fine_tuning/jobs/" + id);
        assertThat(done.path("status").asText()).as(events.toString()).isEqualTo("succeeded");
        return done.path("fine_tuned_model").asText();
    }

    /**
     * Checks that every checkpoint of the job was evaluated on the held-out file with the metrics of /v1/evals,
     * shown in its checkpoint metrics and the job's events, and that the job names the best of them and its final
     * adapter; returns the best one's model.
     */
    private String bestCheckpoint(String jobId, String finalAdapter, String heldout) throws IOException {
        JsonNode job = api.get("/v1/fine_tuning/jobs/" + jobId);
        JsonNode best = job.path("best_checkpoint");
        System.out.println("best checkpoint: " + best);
        assertThat(best.path("file").asText()).isEqualTo(heldout);
        assertThat(best.path("metric").asText()).isEqualTo("agreement");
        JsonNode checkpoints = api.get("/v1/fine_tuning/jobs/" + jobId + "/checkpoints").path("data");
        assertThat(checkpoints).as("a 150-step job checkpoints every 50 steps").hasSize(2);
        double top = api.get("/v1/evals/" + best.path("eval").asText()).path("metrics").path("agreement").asDouble();
        List<String> messages = new ArrayList<>();
        api.events(jobId).forEach(e -> messages.add(e.path("message").asText()));
        for (JsonNode c : checkpoints) {
            System.out.println("checkpoint: " + c);
            int step = c.path("step_number").asInt();
            String model = c.path("fine_tuned_model_checkpoint").asText();
            assertThat(model).isEqualTo(finalAdapter + ":ckpt-step-" + step + "@1");
            JsonNode scores = c.path("metrics").path("eval");
            assertThat(scores.path("file").asText()).isEqualTo(heldout);
            JsonNode eval = api.get("/v1/evals/" + scores.path("id").asText());
            assertThat(eval.path("model").asText()).isEqualTo(model);
            for (String metric : List.of("exact_match", "agreement", "schema_validity", "examples")) {
                assertThat(scores.path(metric)).as(metric).isEqualTo(eval.path("metrics").path(metric));
            }
            assertThat(scores.path("agreement").asDouble()).isLessThanOrEqualTo(top);
            assertThat(messages).anyMatch(m -> m.startsWith("Checkpoint step " + step + " (" + model + ") on "
                    + heldout + ": agreement"));
        }
        JsonNode last = latestEval(finalAdapter + "@1");
        assertThat(last.path("metrics").path("agreement").asDouble()).isLessThanOrEqualTo(top);
        assertThat(best.path("score").asDouble()).isEqualTo(top);
        assertThat(messages).anyMatch(m -> m.startsWith("Best checkpoint on " + heldout + ": step "
                + best.path("step").asInt()));
        String chosen = best.path("fine_tuned_model_checkpoint").asText();
        assertThat(chosen).isEqualTo(best.path("final").asBoolean() ? finalAdapter + "@1"
                : finalAdapter + ":ckpt-step-" + best.path("step").asInt() + "@1");
        return chosen;
    }

    private static String jobOf(String adapter) {
        return adapter.substring(adapter.lastIndexOf(':') + 1);
    }

    /** Waits for the promotion gate's verdict line in the job's events. */
    private String awaitVerdict(String jobId) throws Exception {
        for (int i = 0; i < 600; i++) {
            for (JsonNode e : api.get("/v1/fine_tuning/jobs/" + jobId + "/events?limit=100").path("data")) {
                String m = e.path("message").asText();
                responses.add(e.toString());
                if (m.contains("now runs on") || m.contains("was not promoted") || m.contains("was not moved")) {
                    return m;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no promotion verdict for " + jobId);
    }

    private JsonNode awaitEval(String id) throws Exception {
        for (int i = 0; i < 600; i++) {
            JsonNode eval = api.get("/v1/evals/" + id);
            if (eval.path("status").asText().equals("succeeded") || eval.path("status").asText().equals("failed")) {
                assertThat(eval.path("status").asText()).as(eval.toString()).isEqualTo("succeeded");
                responses.add(eval.toString());
                return eval;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("eval " + id + " did not finish");
    }

    private JsonNode latestEval(String model) throws IOException {
        for (JsonNode e : api.get("/v1/evals?task=" + TASK).path("data")) {
            if (e.path("model").asText().equals(model)) {
                return e;
            }
        }
        throw new AssertionError("no eval of " + model);
    }

    /** 50 tickets in 5 framings: a narrow task's traffic, with near-duplicates to group. */
    private static List<String> tickets() {
        List<String> out = new ArrayList<>();
        for (String framing : FRAMINGS) {
            TicketData.TICKETS.values().forEach(list -> list.forEach(t -> out.add(String.format(framing, t))));
        }
        return out;
    }

    private static Map<String, Object> chat(String model, String ticket) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (model != null) {
            body.put("model", model);
        }
        body.put("messages", TicketData.messages(ticket, null));
        body.put("temperature", 0);
        body.put("max_tokens", 4);
        return body;
    }

    private static Map<String, Object> task(String name) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("description", "Routes a customer support ticket to a queue.");
        t.put("system_prompt", TicketData.SYSTEM);
        t.put("prompt_template", "Ticket: {{ ticket }}");
        t.put("input_schema", Map.of("type", "object", "properties", Map.of("ticket", Map.of("type", "string")),
                "required", List.of("ticket")));
        t.put("output_schema", Map.of("type", "string", "enum", List.copyOf(TicketData.TICKETS.keySet())));
        t.put("generation", Map.of("temperature", 0, "max_tokens", 4));
        t.put("adapter", "qwen3-tiny");
        return t;
    }

    private static double p50(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        return sorted.get(sorted.size() / 2);
    }

    private static String json(Object value) throws IOException {
        return JSON.writeValueAsString(value);
    }

    private JsonNode send(MutableHttpRequest<?> request) throws IOException {
        return JSON.readTree(raw(request));
    }

    private String raw(MutableHttpRequest<?> request) {
        String body = client.toBlocking().retrieve(request.contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key));
        responses.add(body);
        return body;
    }

    private int status(MutableHttpRequest<?> request) {
        try {
            HttpResponse<String> r = client.toBlocking().exchange(request.bearerAuth(key), String.class);
            return r.code();
        } catch (HttpClientResponseException e) {
            return e.code();
        }
    }

    private HttpClientResponseException error(MutableHttpRequest<?> request) {
        try {
            client.toBlocking().exchange(request.contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key),
                    String.class);
        } catch (HttpClientResponseException e) {
            responses.add(e.getResponse().getBody(String.class).orElse(""));
            return e;
        }
        throw new AssertionError("expected an error from " + request.getMethod() + " " + request.getPath());
    }

    private static JsonNode body(HttpClientResponseException e) throws IOException {
        return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}")).path("error");
    }
}
