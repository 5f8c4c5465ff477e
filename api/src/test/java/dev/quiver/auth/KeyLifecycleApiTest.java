package dev.quiver.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A server listening beyond loopback: the admin keys API needs an admin key, a revoked key is refused on the
 * next request, metrics need the metrics token or an admin key, and readiness tells status only.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeyLifecycleApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METRICS_TOKEN = "scrape-me-0123456789abcdef";

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    private String dataDir;
    private String admin;
    private String alice;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-keys"));
        dataDir = properties.get("quiver.data-dir");
        // no micronaut.server.host: Netty binds every interface, so keys are required
        properties.put("quiver.metrics.token", METRICS_TOKEN);
        return properties;
    }

    @BeforeAll
    void keys() {
        admin = keys.create("operators", "ops", true).key();
        alice = keys.create("alice", "test").key();
    }

    @Test
    void theAdminApiNeedsAnAdminKey() {
        assertThat(error(HttpRequest.GET("/v1/admin/keys")).code()).isEqualTo(401);
        HttpClientResponseException tenant = error(HttpRequest.GET("/v1/admin/keys").bearerAuth(alice));
        assertThat(tenant.code()).isEqualTo(403);
        assertThat(body(tenant).path("error").path("code").asText()).isEqualTo("admin_key_required");
        assertThat(body(tenant).path("error").path("message").asText()).contains("quiver keys create --admin");
        assertThat(error(HttpRequest.POST("/v1/admin/keys", Map.of("project", "mallory")).bearerAuth(alice)).code())
                .isEqualTo(403);
        assertThat(keys.list("mallory")).isEmpty();
    }

    @Test
    void anAdminCreatesListsAndRevokesKeysAndARevokedKeyIsRefusedAtOnce() throws IOException {
        HttpClientResponseException noProject = error(HttpRequest.POST("/v1/admin/keys", Map.of("name", "x"))
                .bearerAuth(admin));
        assertThat(noProject.code()).isEqualTo(400);
        assertThat(body(noProject).path("error").path("param").asText()).isEqualTo("project");

        JsonNode created = send(HttpRequest.POST("/v1/admin/keys", Map.of("project", "carol", "name", "ci"))
                .bearerAuth(admin));
        String carol = created.path("key").asText();
        String id = created.path("id").asText();
        assertThat(carol).startsWith("qk-").hasSizeGreaterThan(40);
        assertThat(created.path("prefix").asText()).isEqualTo(carol.substring(0, 10));
        assertThat(created.path("admin").asBoolean()).isFalse();
        assertThat(created.path("last_used_at").isNull()).isTrue();

        assertThat(send(HttpRequest.GET("/v1/files").bearerAuth(carol)).path("object").asText()).isEqualTo("list");

        JsonNode listed = only(send(HttpRequest.GET("/v1/admin/keys?project=carol").bearerAuth(admin)));
        assertThat(listed.path("id").asText()).isEqualTo(id);
        assertThat(listed.path("project").asText()).isEqualTo("carol");
        assertThat(listed.path("name").asText()).isEqualTo("ci");
        assertThat(listed.path("created_at").asLong()).isEqualTo(created.path("created_at").asLong());
        assertThat(listed.path("last_used_at").asLong()).isGreaterThanOrEqualTo(listed.path("created_at").asLong());
        assertThat(listed.path("key").isNull()).as("the key is shown once").isTrue();
        assertThat(send(HttpRequest.GET("/v1/admin/keys").bearerAuth(admin)).toString()).doesNotContain(carol)
                .doesNotContain(alice).contains("\"project\":\"alice\"");

        JsonNode revoked = send(HttpRequest.POST("/v1/admin/keys/" + id + "/revoke", Map.of()).bearerAuth(admin));
        assertThat(revoked.path("revoked").asBoolean()).isTrue();
        assertThat(revoked.path("revoked_at").asLong()).isPositive();

        HttpClientResponseException refused = error(HttpRequest.GET("/v1/files").bearerAuth(carol));
        assertThat(refused.code()).isEqualTo(401);
        assertThat(body(refused).path("error").path("message").asText()).contains("revoked").doesNotContain(carol);
        assertThat(send(HttpRequest.GET("/v1/admin/keys/" + id).bearerAuth(admin)).path("revoked").asBoolean())
                .isTrue();
        assertThat(send(HttpRequest.POST("/v1/admin/keys/" + id + "/revoke", Map.of()).bearerAuth(admin))
                .path("revoked_at").asLong()).as("revoking twice keeps the first time")
                .isEqualTo(revoked.path("revoked_at").asLong());
        assertThat(error(HttpRequest.POST("/v1/admin/keys/key-nope/revoke", Map.of()).bearerAuth(admin)).code())
                .isEqualTo(404);
    }

    @Test
    void anAdminKeyMadeThroughTheApiCanAdministerToo() throws IOException {
        String second = send(HttpRequest.POST("/v1/admin/keys", Map.of("project", "operators", "name", "deputy",
                "admin", true)).bearerAuth(admin)).path("key").asText();
        assertThat(send(HttpRequest.GET("/v1/admin/keys").bearerAuth(second)).path("object").asText())
                .isEqualTo("list");
    }

    @Test
    void metricsNeedTheMetricsTokenOrAnAdminKeyAndThenShowEveryProject() throws IOException {
        Map<String, Object> task = new LinkedHashMap<>();
        task.put("name", "echo");
        task.put("description", "Echoes a ticket.");
        task.put("adapter", "qwen3-tiny");
        task.put("prompt_template", "Ticket: {{ ticket }}");
        task.put("input_schema", Map.of("type", "object", "properties", Map.of("ticket", Map.of("type", "string")),
                "required", List.of("ticket")));
        task.put("generation", Map.of("temperature", 0, "max_tokens", 2));
        send(HttpRequest.POST("/v1/tasks", task).bearerAuth(alice));
        send(HttpRequest.POST("/v1/tasks/echo/invoke", Map.of("input", Map.of("ticket", "hi"))).bearerAuth(alice));

        assertThat(error(HttpRequest.GET("/prometheus")).code()).isEqualTo(401);
        assertThat(error(HttpRequest.GET("/prometheus").bearerAuth(METRICS_TOKEN + "x")).code()).isEqualTo(401);
        HttpClientResponseException tenant = error(HttpRequest.GET("/prometheus").bearerAuth(alice));
        assertThat(tenant.code()).isEqualTo(403);
        assertThat(tenant.getResponse().getBody(String.class).orElseThrow()).doesNotContain("project=");

        String scraped = client.toBlocking().retrieve(HttpRequest.GET("/prometheus").bearerAuth(METRICS_TOKEN));
        assertThat(scraped).contains("project=\"alice\"").contains("task=\"echo\"");
        assertThat(client.toBlocking().retrieve(HttpRequest.GET("/prometheus").bearerAuth(admin)))
                .contains("project=\"alice\"");
    }

    @Test
    void readinessAndHealthTellStatusWithoutUrlsOrPaths() {
        for (String path : List.of("/health/readiness", "/health/liveness", "/health")) {
            String health = client.toBlocking().retrieve(path);
            assertThat(health).as(path).contains("\"status\":\"UP\"").doesNotContain("jdbc:").doesNotContain(dataDir)
                    .doesNotContain("/tmp").doesNotContain("h2");
        }
    }

    private JsonNode send(MutableHttpRequest<?> request) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(request));
    }

    private HttpClientResponseException error(MutableHttpRequest<?> request) {
        return catchThrowableOfType(HttpClientResponseException.class, () -> client.toBlocking().retrieve(request));
    }

    private static JsonNode only(JsonNode list) {
        assertThat(list.path("data")).hasSize(1);
        return list.path("data").get(0);
    }

    private static JsonNode body(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}"));
        } catch (IOException ex) {
            throw new AssertionError(ex);
        }
    }
}
