package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.testing.TestModels;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import io.micronaut.runtime.server.EmbeddedServer;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * First requests for adapters that no request has loaded yet, fired all at once, as an agent's fan-out
 * does: every one succeeds, and each adapter is read from disk once. A request that admission refuses
 * reads nothing.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdapterLoadRaceTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> ADAPTERS = List.of("alpha", "beta", "gamma", "delta");

    @Inject
    EmbeddedServer server;

    @Inject
    ServingEngine serving;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path root = Files.createTempDirectory("quiver-adapter-race");
            Path model = TestModels.tiny(root, ModelFamily.QWEN3);
            Path adapters = Files.createDirectories(root.resolve("adapters"));
            ModelConfig config = ModelConfig.load(model);
            for (int i = 0; i < ADAPTERS.size(); i++) {
                TestModels.randomAdapter(config, 4, 8.0, 20 + i, ModelConfig.LINEAR_MODULES)
                        .write(adapters.resolve(ADAPTERS.get(i)), DType.F32);
            }
            TestModels.randomAdapter(config, 4, 8.0, 99, ModelConfig.LINEAR_MODULES)
                    .write(adapters.resolve("refused"), DType.F32);
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.serving.adapters-dir", adapters.toString(),
                    "quiver.serving.max-queued-requests", "64",
                    "quiver.serving.max-sequence-length", "128");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    @Order(1)
    void concurrentFirstRequestsAllSucceedAndReadEachAdapterOnce() {
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            calls.add(http.sendAsync(completion(ADAPTERS.get(i % ADAPTERS.size())),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        assertThat(serving.engine().stats().adapterReads()).isEqualTo(ADAPTERS.size());
    }

    @Test
    @Order(2)
    void aRequestRefusedByAdmissionReadsNothing() throws Exception {
        long reads = serving.engine().stats().adapterReads();
        serving.admit(64);
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(completion("refused"),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(429);
        } finally {
            serving.release(64);
        }
        assertThat(serving.engine().stats().adapterReads()).isEqualTo(reads);
        assertThat(serving.engine().adapters().contains(serving.find("refused", null).key())).isFalse();
    }

    private HttpRequest completion(String model) {
        try {
            return HttpRequest.newBuilder(URI.create(server.getURL() + "/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("model", model,
                            "prompt", "hello", "max_tokens", 1))))
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
