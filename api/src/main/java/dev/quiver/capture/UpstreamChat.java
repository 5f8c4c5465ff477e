package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * One chat completion on a task's upstream, with its key, for the control plane's own calls (evals, fallback):
 * the parsed answer, or a 502 that says what went wrong and never the key.
 */
@Singleton
public class UpstreamChat {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final UpstreamClient client;
    private final SecretReference secrets;

    public UpstreamChat(UpstreamClient client, SecretReference secrets) {
        this.client = client;
        this.secrets = secrets;
    }

    /** The upstream's chat completion for {@code body}, whose {@code model} becomes the upstream's. */
    public JsonNode complete(Task task, Upstream upstream, ObjectNode body) {
        body.put("model", upstream.getModel());
        String key = upstream.getApiKeyRef() == null ? null : secrets.key(task.getName(), upstream.getApiKeyRef());
        UpstreamClient.Answer answer = client.chat(task.getName(), upstream.getBaseUrl(), key,
                body.toString().getBytes(StandardCharsets.UTF_8));
        try (InputStream in = answer.body()) {
            byte[] bytes = in.readAllBytes();
            if (answer.status() != 200) {
                throw new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "the upstream of task '"
                        + task.getName() + "' answered HTTP " + answer.status(), null, "upstream_error");
            }
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new IOException("not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new ApiException(HttpStatus.BAD_GATEWAY, "server_error", "the answer of task '" + task.getName()
                    + "''s upstream could not be read as a chat completion", null, "upstream_error");
        }
    }
}
