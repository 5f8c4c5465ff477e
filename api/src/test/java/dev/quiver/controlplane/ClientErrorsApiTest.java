package dev.quiver.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.blob.DataDir;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.TinyModelServer;
import dev.quiver.serving.Serving;
import dev.quiver.testing.LeftoverFiles;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Requests that used to be accepted and then fail or mislead are a 400 naming the field, and leave nothing. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientErrorsApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    @Inject
    DataDir dataDir;

    @Inject
    Serving serving;

    private Path model;
    private String key;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-client-errors"));
        properties.put("quiver.jobs.max-concurrent", "0");
        model = Path.of(properties.get("quiver.base-model.path"));
        return properties;
    }

    @BeforeAll
    void keyAndEngine() {
        key = keys.create("client-errors", "test").key();
        // the first completion unpacks ONNX Runtime's natives into the temp dir, once per JVM: not a leftover
        chat(Map.of("model", "qwen3-tiny", "max_tokens", 1, "messages", List.of(Map.of("role", "user",
                "content", "hi"))));
    }

    @Test
    void maxTokensBeyondTheContextIs400WithTheNumbers() {
        int context = serving.limits().maxSequenceLength();
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class, () -> chat(Map.of(
                "model", "qwen3-tiny", "max_tokens", context, "messages", List.of(Map.of("role", "user",
                        "content", "hi")))));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(error(e).path("param").asText()).isEqualTo("max_tokens");
        assertThat(error(e).path("message").asText()).contains("max_tokens is " + context)
                .contains("context is " + context + " tokens");
        JsonNode filled = chat(Map.of("model", "qwen3-tiny", "temperature", 0, "messages",
                List.of(Map.of("role", "user", "content", "hi"))));
        assertThat(filled.path("choices").get(0).path("message").has("content")).isTrue();
        leftovers.assertNothingLeft();
    }

    @Test
    void adapterNamedLikeTheBaseModelIs400() throws IOException {
        Path peft = writeAdapter();
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        MultipartBody.Builder body = MultipartBody.builder().addPart("name", "qwen3-tiny");
        body.addPart("adapter_config", LoraConfig.FILE, MediaType.APPLICATION_JSON_TYPE,
                peft.resolve(LoraConfig.FILE).toFile());
        body.addPart("adapter_model", PeftAdapter.WEIGHTS_FILE, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                peft.resolve(PeftAdapter.WEIGHTS_FILE).toFile());
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.POST("/v1/adapters", body.build())
                        .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(error(e).path("param").asText()).isEqualTo("name");
        assertThat(error(e).path("message").asText()).contains("base model's name");
        Path staging = dataDir.root().resolve("adapters/.staging");
        leftovers.assertNothingLeftExcept(p -> p.equals(staging) || p.equals(staging.getParent()));
    }

    @Test
    void limitOutsideItsRangeIs400OnEveryList() {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        for (String list : List.of("/v1/files", "/v1/adapters", "/v1/tasks", "/v1/fine_tuning/jobs")) {
            for (String limit : List.of("-1", "0", "10001")) {
                HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                        () -> client.toBlocking().retrieve(HttpRequest.GET(list + "?limit=" + limit).bearerAuth(key)));
                assertThat(e.getStatus().getCode()).as(list + "?limit=" + limit).isEqualTo(400);
                assertThat(error(e).path("param").asText()).isEqualTo("limit");
            }
            assertThat(client.toBlocking().retrieve(HttpRequest.GET(list + "?limit=1").bearerAuth(key))).contains("\"data\"");
        }
        leftovers.assertNothingLeft();
    }

    private Path writeAdapter() throws IOException {
        ModelConfig base = ModelConfig.load(model);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < base.numLayers(); l++) {
            ModelConfig.LinearShape s = base.linear("q_proj");
            String path = ModelConfig.modulePath(l, "q_proj");
            weights.put(path, new LoraWeights(path, 4, s.in(), s.out(), new float[4 * s.in()], new float[s.out() * 4]));
        }
        Path dir = Files.createTempDirectory("peft").resolve("a");
        new PeftAdapter(LoraConfig.of(4, 8, false, List.of("q_proj"), 0, "qwen3-tiny"), weights).write(dir, DType.F32);
        return dir;
    }

    private JsonNode chat(Map<String, Object> body) {
        try {
            MutableHttpRequest<String> request = HttpRequest.POST("/v1/chat/completions", JSON.writeValueAsString(body))
                    .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key);
            return JSON.readTree(client.toBlocking().retrieve(request));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode error(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}")).path("error");
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
