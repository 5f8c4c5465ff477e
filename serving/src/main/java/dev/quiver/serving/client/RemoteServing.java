package dev.quiver.serving.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.http.RequestAttributes;
import dev.quiver.serving.Serving;
import dev.quiver.serving.ServingLimits;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/**
 * {@link Serving} over HTTP, for a control plane whose serving replicas run apart
 * ({@code quiver.serving.url}, the serving Service in the Helm chart). It calls the replicas' own OpenAI
 * endpoints and {@code /v1/serving/*} as the tenant's project, authenticated with the deployment's internal
 * token; the replicas' error objects come back as the same {@link ApiException}s.
 */
@Singleton
@Requires(property = "quiver.serving.url")
@Requires(property = "quiver.serving.enabled", value = "false")
public class RemoteServing implements Serving {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteServing.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String token;
    private final Duration timeout;
    private final HttpClient http;

    public RemoteServing(@Value("${quiver.serving.url}") String url,
                         @Value("${quiver.internal-token:}") String token,
                         @Value("${quiver.serving.request-timeout:10m}") Duration timeout) {
        this.base = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        this.token = token;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        if (token.isBlank()) {
            LOG.warn("quiver.internal-token is not set: calls to the serving tier at {} act in the default project",
                    base);
        }
    }

    @Override
    public ServingLimits limits() {
        JsonNode n = send("GET", "/v1/serving/limits", null, null);
        List<String> targets = new ArrayList<>();
        n.path("lora_targets").forEach(t -> targets.add(t.asText()));
        return new ServingLimits(n.path("base_model").asText(), n.path("max_lora_rank").asInt(), targets,
                n.path("max_sequence_length").asInt(), n.path("lora_slots").asInt(), n.path("max_batch").asInt());
    }

    @Override
    public JsonNode complete(Endpoint endpoint, ObjectNode body, @Nullable String project) {
        if (body.path("stream").asBoolean(false)) {
            throw ApiException.invalid("stream", "this call runs completions to the end; stream must be false");
        }
        return send("POST", endpoint.path(), body, project);
    }

    @Override
    public Flux<String> stream(Endpoint endpoint, ObjectNode body, @Nullable String project) {
        HttpResponse<InputStream> response = exchange("POST", endpoint.path(), body, project,
                HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() / 100 != 2) {
            try (InputStream in = response.body()) {
                throw error(response.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw unreachable(endpoint.path(), e);
            }
        }
        return Flux.using(() -> new BufferedReader(new InputStreamReader(response.body(),
                        StandardCharsets.UTF_8)),
                reader -> Flux.fromStream(reader.lines()
                        .filter(line -> line.startsWith("data:"))
                        .map(line -> line.substring(5).strip())),
                reader -> {
                    try {
                        reader.close();
                    } catch (IOException ignored) {
                        // the stream is over either way
                    }
                }).subscribeOn(Schedulers.boundedElastic());
    }

    @Override
    @Nullable
    public String resolve(String model, @Nullable String project) {
        ObjectNode body = JSON.createObjectNode().put("model", model);
        return send("POST", "/v1/serving/adapters/resolve", body, project).path("id").asText(null);
    }

    @Override
    public void pin(String adapterId) {
        send("POST", "/v1/serving/adapters/pin", JSON.createObjectNode().put("id", adapterId), null);
    }

    @Override
    public void unpin(String adapterId) {
        send("POST", "/v1/serving/adapters/unpin", JSON.createObjectNode().put("id", adapterId), null);
    }

    private JsonNode send(String method, String path, @Nullable JsonNode body, @Nullable String project) {
        HttpResponse<String> response = exchange(method, path, body, project,
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (response.statusCode() / 100 != 2) {
            throw error(response.statusCode(), response.body());
        }
        try {
            return JSON.readTree(response.body());
        } catch (JsonProcessingException e) {
            LOG.error("the serving tier at {} answered {} with a body that is not JSON", base, path);
            throw new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "the serving tier answered with a body"
                    + " that is not JSON", null, "bad_gateway");
        }
    }

    private <T> HttpResponse<T> exchange(String method, String path, @Nullable JsonNode body,
                                         @Nullable String project, HttpResponse.BodyHandler<T> handler) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream");
        if (!token.isBlank()) {
            request.header("Authorization", "Bearer " + token);
            if (project != null) {
                request.header(RequestAttributes.PROJECT_HEADER, project);
            }
        }
        try {
            return http.send(request.build(), handler);
        } catch (IOException e) {
            throw unreachable(path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", "interrupted while calling the"
                    + " serving tier", null, "serving_unavailable");
        }
    }

    private ApiException unreachable(String path, IOException e) {
        LOG.warn("the serving tier at {} cannot be reached for {}: {}", base, path, e.toString());
        return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", "the serving tier cannot be"
                + " reached right now; retry in a moment", null, "serving_unavailable");
    }

    /** The replica's OpenAI error object as the same ApiException; anything else is a 502. */
    private ApiException error(int status, String body) {
        try {
            JsonNode e = JSON.readTree(body).path("error");
            if (e.hasNonNull("message")) {
                return new ApiException(HttpStatus.valueOf(status), e.path("type").asText("server_error"),
                        e.path("message").asText(), e.path("param").asText(null), e.path("code").asText(null));
            }
        } catch (JsonProcessingException | IllegalArgumentException ignored) {
            // not an error object: answered below
        }
        LOG.warn("the serving tier at {} answered {} without an error object", base, status);
        return new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "the serving tier answered HTTP " + status,
                null, "bad_gateway");
    }
}
