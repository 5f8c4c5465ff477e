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
 * with the job's own token. A 409 means the job is no longer running (cancelled), a 401 that the token is no
 * longer the job's (another attempt owns it): either way the runner stops. Other failures are
 * {@link ControlPlaneException}s that say whether a retry may help.
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

    /** The control plane answered with an error status; its message is the error object's. */
    public static final class ControlPlaneException extends IOException {
        private final int status;

        ControlPlaneException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }

        /** Server errors and overload pass; a refused request would be refused again. */
        public boolean retryable() {
            return status >= 500 || status == 429;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Reports are small: one that takes longer than this is as good as failed, and is retried. */
    private static final Duration REPORT_TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String token;

    public ControlPlaneClient(String controlPlaneUrl, String jobId, String token) {
        this.base = controlPlaneUrl.replaceAll("/+$", "") + "/v1/internal/jobs/" + jobId;
        this.token = token;
    }

    public RunnerSpec spec() throws IOException {
        return RunnerSpec.fromJson(send(report("/spec").GET(), HttpResponse.BodyHandlers.ofString()).body());
    }

    /** Downloads {@code path} (relative to the job) into {@code target}. */
    public void download(String path, Path target) throws IOException {
        HttpResponse<InputStream> r = send(request(path).GET(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Reports event number {@code seq} of the job (numbers run on across attempts); the control plane keeps the
     * first copy of each number, so resending one after a lost answer adds nothing.
     */
    public void event(long seq, String level, String type, String message, Object data) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("seq", seq);
        body.put("level", level);
        body.put("type", type);
        body.put("message", message);
        body.put("data", data);
        send(report("/events").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Says the runner is alive and working, between events (model loading, long steps). */
    public void heartbeat() throws IOException {
        send(report("/heartbeat").POST(HttpRequest.BodyPublishers.noBody()), HttpResponse.BodyHandlers.ofString());
    }

    public void failure(String code, String message) throws IOException {
        send(report("/failure").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("code", code,
                        "message", message)))), HttpResponse.BodyHandlers.ofString());
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

    private HttpRequest.Builder report(String path) {
        return request(path).timeout(REPORT_TIMEOUT);
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
        if (r.statusCode() < 300) {
            return r;
        }
        String what = r.request().method() + " " + r.request().uri().getPath();
        String message = errorMessage(r.body());
        if (r.statusCode() == 409) {
            throw new JobNotRunningException("the control plane says the job is no longer running (" + message + ")");
        }
        if (r.statusCode() == 401) {
            throw new JobNotRunningException("the control plane no longer accepts this runner's token, so another"
                    + " attempt owns the job (" + message + ")");
        }
        throw new ControlPlaneException(r.statusCode(), "control plane answered " + r.statusCode() + " to " + what
                + ": " + message);
    }

    /** The message of OpenAI's error object in {@code body}, else the body's start, else that there was none. */
    private static String errorMessage(Object body) throws IOException {
        if (body instanceof InputStream in) {
            try (in) {
                body = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            }
        }
        if (!(body instanceof String text) || text.isBlank()) {
            return "(no response body)";
        }
        try {
            JsonNode message = JSON.readTree(text).path("error").path("message");
            if (message.isTextual()) {
                return message.asText();
            }
        } catch (IOException notJson) {
            // a proxy's HTML error page or similar: its start says more than nothing
        }
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }
}
