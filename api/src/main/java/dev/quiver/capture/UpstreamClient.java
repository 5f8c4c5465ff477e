package dev.quiver.capture;

import dev.quiver.http.ApiException;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * Sends a chat completion body to an upstream's {@code /chat/completions} with its key, and hands back
 * the upstream's status, content type and body as they came. A connection that cannot be made or a
 * timeout is a 502 that names the upstream's URL, never its key.
 */
@Singleton
public class UpstreamClient {
    /** The upstream's answer: {@code body} is open until read (for a stream, as its events arrive). */
    public record Answer(int status, String contentType, InputStream body) {
    }

    private final HttpClient http;
    private final Duration readTimeout;

    public UpstreamClient(@Value("${quiver.capture.connect-timeout:10s}") Duration connectTimeout,
                          @Value("${quiver.capture.read-timeout:300s}") Duration readTimeout) {
        this.http = HttpClient.newBuilder().connectTimeout(connectTimeout).version(HttpClient.Version.HTTP_1_1)
                .build();
        this.readTimeout = readTimeout;
    }

    /** POSTs {@code body} to {@code baseUrl/chat/completions}; {@code key} may be null for a keyless upstream. */
    public Answer chat(String taskName, String baseUrl, String key, byte[] body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .timeout(readTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        try {
            HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            return new Answer(response.statusCode(), response.headers().firstValue("Content-Type")
                    .orElse("application/json"), response.body());
        } catch (HttpTimeoutException e) {
            throw unreachable(taskName, baseUrl, "it did not answer within " + readTimeout.toSeconds() + " s");
        } catch (IOException e) {
            throw unreachable(taskName, baseUrl, "the connection failed (" + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreachable(taskName, baseUrl, "the call was interrupted");
        }
    }

    private static ApiException unreachable(String taskName, String baseUrl, String why) {
        return new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "The upstream of task '" + taskName + "' at "
                + baseUrl + " is unreachable: " + why + ". Check its base_url (GET /v1/tasks/" + taskName
                + "/upstream).", null, "upstream_unreachable");
    }
}
