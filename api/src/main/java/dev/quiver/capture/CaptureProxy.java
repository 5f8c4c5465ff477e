package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskRequests;
import dev.quiver.tasks.TaskService;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The capture proxy: forwards a chat completion request to the task's upstream (adding only the upstream's
 * model when the request names none), hands back the upstream's answer as it came, and records the call
 * off the request path. A streamed answer is passed through event by event and recorded when it ends.
 */
@Singleton
public class CaptureProxy {
    /** What goes back to the caller: the upstream's status, content type and body (a stream stays open). */
    public record Forwarded(int status, String contentType, InputStream body) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ERROR_SNIPPET = 500;

    private final TaskService tasks;
    private final UpstreamService upstreams;
    private final SecretReference secrets;
    private final UpstreamClient client;
    private final CaptureRecorder recorder;

    public CaptureProxy(TaskService tasks, UpstreamService upstreams, SecretReference secrets, UpstreamClient client,
                        CaptureRecorder recorder) {
        this.tasks = tasks;
        this.upstreams = upstreams;
        this.secrets = secrets;
        this.client = client;
        this.recorder = recorder;
    }

    public Forwarded chat(String projectId, String taskName, String requestBody) {
        Task task = tasks.get(projectId, taskName);
        Upstream upstream = upstreams.get(projectId, taskName);
        ObjectNode body = (ObjectNode) TaskRequests.body(requestBody);
        byte[] forwarded = requestBody.getBytes(StandardCharsets.UTF_8);
        if (!body.hasNonNull("model")) {
            body.put("model", upstream.getModel());
            forwarded = body.toString().getBytes(StandardCharsets.UTF_8);
        }
        String model = body.get("model").asText();
        String key = upstream.getApiKeyRef() == null ? null : secrets.key(taskName, upstream.getApiKeyRef());
        boolean sampled = recorder.sampled(upstream);
        String request = body.toString();
        long start = System.nanoTime();
        UpstreamClient.Answer answer;
        try {
            answer = client.chat(taskName, upstream.getBaseUrl(), key, forwarded);
        } catch (ApiException e) {
            if (sampled) {
                recorder.upstreamCall(task, model, request, e.status().getCode(), null, e.getMessage(),
                        System.nanoTime() - start, null);
            }
            throw e;
        }
        boolean stream = body.path("stream").asBoolean(false) && answer.status() == 200;
        if (stream) {
            return new Forwarded(answer.status(), answer.contentType(), new TeeStream(answer.body(), bytes -> {
                if (sampled) {
                    recorder.upstreamCall(task, model, request, 200, StreamedAnswer.assemble(bytes), null,
                            System.nanoTime() - start, null);
                }
            }));
        }
        byte[] bytes = readAll(answer.body());
        if (sampled) {
            JsonNode json = answer.status() == 200 ? parse(bytes) : null;
            recorder.upstreamCall(task, model, request, answer.status(), json, json != null ? null
                    : "the upstream answered HTTP " + answer.status() + ": " + snippet(bytes), System.nanoTime() - start,
                    null);
        }
        return new Forwarded(answer.status(), answer.contentType(), new java.io.ByteArrayInputStream(bytes));
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode parse(byte[] bytes) {
        try {
            JsonNode node = JSON.readTree(bytes);
            return node != null && node.isObject() ? node : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String snippet(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        return text.length() > ERROR_SNIPPET ? text.substring(0, ERROR_SNIPPET) : text;
    }
}
