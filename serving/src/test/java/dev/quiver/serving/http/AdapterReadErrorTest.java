package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.testing.TestModels;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Adapters whose files do not read, as a client sees it: refused at registration with what is wrong, or, when the
 * files changed on disk after registration and the adapter had left host memory, refused when the engine reads it
 * again. Either way a 422 (in a stream, an error event) that names no path on the server.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdapterReadErrorTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    EmbeddedServer server;

    private Path adapters;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path root = Files.createTempDirectory("quiver-adapter-errors");
            Path model = TestModels.tiny(root, ModelFamily.QWEN3);
            adapters = Files.createDirectories(root.resolve("adapters"));
            ModelConfig config = ModelConfig.load(model);
            for (String name : new String[] {"fragile", "other", "broken"}) {
                TestModels.randomAdapter(config, 4, 8.0, name.hashCode(), ModelConfig.LINEAR_MODULES)
                        .write(adapters.resolve(name), DType.F32);
            }
            Files.writeString(adapters.resolve("broken").resolve("adapter_config.json"), "{not json");
            // one slot and one adapter in host memory: loading "other" evicts "fragile" from both
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.serving.adapters-dir", adapters.toString(),
                    "quiver.serving.lora-slots", "1",
                    "quiver.serving.host-cache-size", "1",
                    "quiver.serving.max-sequence-length", "128");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    @Order(1)
    void anAdapterThatDoesNotReadAtRegistrationIsA422NamingNoPath() throws Exception {
        HttpResponse<String> r = send("broken", false);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(r.body()).contains("adapter_invalid").contains("cannot be loaded")
                .doesNotContain(adapters.toString());
    }

    @Test
    @Order(2)
    void filesThatChangedAfterRegistrationAreA422WhenReadAgain() throws Exception {
        assertThat(send("fragile", false).statusCode()).isEqualTo(200);
        assertThat(send("other", false).statusCode()).isEqualTo(200);
        Files.writeString(adapters.resolve("fragile").resolve("adapter_model.safetensors"), "truncated");

        HttpResponse<String> r = send("fragile", false);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(r.body()).contains("adapter_invalid").contains("changed or were removed")
                .doesNotContain(adapters.toString());

        HttpResponse<String> stream = send("fragile", true);
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.body()).contains("\"error\"").contains("changed or were removed")
                .contains("invalid_request_error").doesNotContain(adapters.toString());

        assertThat(send("other", false).statusCode()).as("the engine still serves").isEqualTo(200);
    }

    private HttpResponse<String> send(String model, boolean stream) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.getURL() + "/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("model", model,
                        "prompt", "hello", "max_tokens", 1, "stream", stream))))
                .build();
        return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    }
}
