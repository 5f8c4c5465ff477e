package dev.quiver.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.e2e.ApiClient;
import dev.quiver.http.RequestAttributes;
import dev.quiver.e2e.TinyModelServer;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Keys required (as in a cluster): a dummy key is refused, and the internal token that the tiers share acts
 * for the project named in X-Quiver-Project, which nobody else can choose.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InternalTokenAuthTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "tier-to-tier-secret-0123456789";
    private static final String LINE = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
            + "{\"role\":\"assistant\",\"content\":\"billing\"}]}\n";

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    private String aliceKey;
    private String aliceFile;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-auth-internal"));
        properties.put("micronaut.server.host", "127.0.0.1");
        properties.put("quiver.auth.required", "true");
        properties.put("quiver.internal-token", TOKEN);
        return properties;
    }

    @BeforeAll
    void aliceHasAFile() throws IOException {
        aliceKey = keys.create("alice", "test").key();
        keys.create("bob", "test");
        aliceFile = new ApiClient(client, aliceKey).upload("alice.jsonl", LINE).path("id").asText();
    }

    @Test
    void aDummyKeyIsRefusedWhenKeysAreRequired() {
        HttpClientResponseException refused = error(files().bearerAuth("sk-dummy"));
        assertThat(refused.getStatus().getCode()).isEqualTo(401);
        assertThat(body(refused).path("error").path("code").asText()).isEqualTo("invalid_api_key");
    }

    @Test
    void theInternalTokenActsForTheNamedProject() throws IOException {
        assertThat(fileIds(files().bearerAuth(TOKEN).header(RequestAttributes.PROJECT_HEADER, "alice")))
                .contains(aliceFile);
        assertThat(fileIds(files().bearerAuth(TOKEN).header(RequestAttributes.PROJECT_HEADER, "bob")))
                .doesNotContain(aliceFile);
        // no header: the default project, not alice's
        assertThat(fileIds(files().bearerAuth(TOKEN))).doesNotContain(aliceFile);
    }

    @Test
    void theInternalTokenCannotNameAProjectThatDoesNotExist() {
        HttpClientResponseException unknown = error(files().bearerAuth(TOKEN)
                .header(RequestAttributes.PROJECT_HEADER, "nobody"));
        assertThat(unknown.getStatus().getCode()).isEqualTo(403);
        assertThat(body(unknown).path("error").path("message").asText()).contains("'nobody'")
                .doesNotContain(TOKEN);
        HttpClientResponseException malformed = error(files().bearerAuth(TOKEN)
                .header(RequestAttributes.PROJECT_HEADER, "../etc"));
        assertThat(malformed.getStatus().getCode()).isEqualTo(400);
    }

    @Test
    void theProjectHeaderFromAnyoneElseIsIgnored() throws IOException {
        String bobKey = keys.create("bob", "second").key();
        assertThat(fileIds(files().bearerAuth(bobKey).header(RequestAttributes.PROJECT_HEADER, "alice")))
                .doesNotContain(aliceFile);
        HttpClientResponseException almostTheToken = error(files().bearerAuth(TOKEN + "x")
                .header(RequestAttributes.PROJECT_HEADER, "alice"));
        assertThat(almostTheToken.getStatus().getCode()).isEqualTo(401);
    }

    private static MutableHttpRequest<?> files() {
        return HttpRequest.GET("/v1/files");
    }

    private String fileIds(MutableHttpRequest<?> request) throws IOException {
        JsonNode list = JSON.readTree(client.toBlocking().retrieve(request));
        assertThat(list.path("object").asText()).isEqualTo("list");
        return list.path("data").toString();
    }

    private HttpClientResponseException error(MutableHttpRequest<?> request) {
        return catchThrowableOfType(HttpClientResponseException.class, () -> client.toBlocking().retrieve(request));
    }

    private static JsonNode body(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}"));
        } catch (IOException ex) {
            throw new AssertionError(ex);
        }
    }
}
