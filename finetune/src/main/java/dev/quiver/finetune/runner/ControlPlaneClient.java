package dev.quiver.finetune.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The runner's side of the control plane's job API ({@code /v1/internal/jobs/{id}/...}), authenticated
 * with the job's own token. A 409 means the job is no longer running (cancelled): the runner stops.
 */
public final class ControlPlaneClient {
    /** Environment variable carrying the job's token to the runner (not the command line, which others can read). */
    public static final String TOKEN_ENV = "QUIVER_RUNNER_TOKEN";

    /** The control plane answered that the job is no longer running. */
    public static final class JobNotRunningException extends IOException {
        JobNotRunningException(String message) {
            super(message);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String token;

    public ControlPlaneClient(String controlPlaneUrl, String jobId, String token) {
        this.base = controlPlaneUrl.replaceAll("/+$", "") + "/v1/internal/jobs/" + jobId;
        this.token = token;
    }

    public RunnerSpec spec() throws IOException {
        return RunnerSpec.fromJson(send(request("/spec").GET(), HttpResponse.BodyHandlers.ofString()).body());
    }

    /** Downloads {@code path} (relative to the job) into {@code target}. */
    public void download(String path, Path target) throws IOException {
        HttpResponse<InputStream> r = send(request(path).GET(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public void event(String level, String type, String message, Object data) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("level", level);
        body.put("type", type);
        body.put("message", message);
        body.put("data", data);
        send(request("/events").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))),
                HttpResponse.BodyHandlers.discarding());
    }

    public void failure(String code, String message) throws IOException {
        send(request("/failure").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("code", code,
                        "message", message)))), HttpResponse.BodyHandlers.discarding());
    }

    /** Posts a multipart form: text fields, then files. */
    public JsonNode multipart(String path, Map<String, String> fields, Map<String, Path> files) throws IOException {
        String boundary = "quiver-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey()
                    + "\"\r\n\r\n" + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        for (Map.Entry<String, Path> f : files.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey()
                    + "\"; filename=\"" + f.getValue().getFileName() + "\"\r\nContent-Type: application/octet-stream"
                    + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            Files.copy(f.getValue(), body);
            body.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = send(request(path).header("Content-Type", "multipart/form-data; boundary="
                + boundary).POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(5))
                .header("Authorization", "Bearer " + token);
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder request, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        HttpResponse<T> r;
        try {
            r = http.send(request.build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted talking to the control plane", e);
        }
        if (r.statusCode() == 409) {
            throw new JobNotRunningException("the control plane says the job is no longer running");
        }
        if (r.statusCode() >= 300) {
            Object body = r.body();
            if (body instanceof InputStream in) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            throw new IOException("control plane answered " + r.statusCode() + " to " + r.request().uri() + ": "
                    + body);
        }
        return r;
    }
}
