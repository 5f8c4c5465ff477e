package dev.quiver.declared;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.auth.ApiKeyService;
import dev.quiver.auth.KeyView;
import dev.quiver.e2e.TinyModelServer;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The chart's keys file is the desired state: a key removed from it is revoked when the file is applied. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeclaredApiKeysTest implements TestPropertyProvider {
    private static final String CI = "qk-" + "C".repeat(40);
    private static final String OPS = "qk-" + "O".repeat(40);
    private static final String DEPLOY = "qk-" + "D".repeat(40);

    @Inject
    DeclaredApiKeys declared;

    @Inject
    ApiKeyService keys;

    @Inject
    @Client("/")
    HttpClient client;

    private MountedFile keysFile;

    @Override
    public Map<String, String> getProperties() {
        try {
            Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-declared-keys"));
            keysFile = new MountedFile(Files.createTempDirectory("quiver-keys-file").resolve("etc"), "api-keys.yaml");
            keysFile.write("""
                    keys:
                      ci: {project: team-a, key: "%s"}
                      ops: {project: operators, key: "%s", admin: true}
                      deploy: {project: team-a, key: "%s"}
                    """.formatted(CI, OPS, DEPLOY));
            properties.put("quiver.auth.keys-file", keysFile.path().toString());
            properties.put("quiver.declared.poll-interval", "1h");
            properties.put("quiver.auth.required", "true");
            return properties;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aKeyRemovedFromTheFileIsRevokedAndOneStillThereKeepsWorking() throws IOException {
        assertThat(status(CI, "/v1/files")).isEqualTo(200);
        assertThat(status(DEPLOY, "/v1/files")).isEqualTo(200);
        assertThat(status(OPS, "/v1/admin/keys")).as("declared admin: true").isEqualTo(200);
        assertThat(status(CI, "/v1/admin/keys")).isEqualTo(403);

        keysFile.write("""
                keys:
                  ci: {project: team-a, key: "%s"}
                  ops: {project: operators, key: "%s", admin: true}
                """.formatted(CI, OPS));
        declared.poll();

        assertThat(status(DEPLOY, "/v1/files")).isEqualTo(401);
        assertThat(status(CI, "/v1/files")).isEqualTo(200);
        assertThat(keys.list("team-a")).filteredOn(KeyView::revoked).extracting(KeyView::name)
                .containsExactly("deploy");

        // a broken file changes nothing, and a revoked key does not come back with the file
        keysFile.write("keys: [oops\n");
        declared.poll();
        assertThat(status(CI, "/v1/files")).isEqualTo(200);
        keysFile.write("""
                keys:
                  ci: {project: team-a, key: "%s"}
                  ops: {project: operators, key: "%s", admin: true}
                  deploy: {project: team-a, key: "%s"}
                """.formatted(CI, OPS, DEPLOY));
        declared.poll();
        assertThat(status(DEPLOY, "/v1/files")).isEqualTo(401);
    }

    private int status(String key, String path) {
        try {
            return client.toBlocking().exchange(HttpRequest.GET(path).bearerAuth(key)).code();
        } catch (HttpClientResponseException e) {
            return e.code();
        }
    }
}
