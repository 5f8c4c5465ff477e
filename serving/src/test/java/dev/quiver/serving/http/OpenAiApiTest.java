package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.testing.TestModels;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The OpenAI-compatible API over a real engine on the generated tiny model, through a real HTTP client. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ServingEngine serving;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path root = Files.createTempDirectory("quiver-serving-api");
            Path model = TestModels.tiny(root, ModelFamily.QWEN3);
            Path adapters = Files.createDirectories(root.resolve("adapters"));
            ModelConfig config = ModelConfig.load(model);
            TestModels.randomAdapter(config, 4, 16.0, 11, ModelConfig.LINEAR_MODULES)
                    .write(adapters.resolve("support-triage"), DType.F32);
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.serving.adapters-dir", adapters.toString(),
                    "quiver.serving.max-queued-requests", "4",
                    "quiver.serving.max-sequence-length", "256");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void listsTheBaseAndEachAdapterWithItsParent() throws IOException {
        JsonNode models = get("/v1/models");
        assertThat(models.path("object").asText()).isEqualTo("list");
        assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("qwen3-tiny");
        assertThat(models.path("data").get(1).path("id").asText()).isEqualTo("support-triage");
        assertThat(models.path("data").get(1).path("parent").asText()).isEqualTo("qwen3-tiny");
    }

    @Test
    void chatCompletionReturnsOpenAiShapeAndUsage() throws IOException {
        JsonNode r = post("/v1/chat/completions", Map.of("model", "qwen3-tiny", "temperature", 0, "max_tokens", 8,
                "messages", List.of(Map.of("role", "user", "content", "Classify: my card was charged twice"))));
        assertThat(r.path("object").asText()).isEqualTo("chat.completion");
        assertThat(r.path("id").asText()).startsWith("chatcmpl-");
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(choice.path("finish_reason").asText()).isIn("stop", "length");
        int prompt = serving.tokenizer().encode(serving.template().render(List.of(Map.of("role", "user", "content",
                "Classify: my card was charged twice")), null, true)).length;
        assertThat(r.path("usage").path("prompt_tokens").asInt()).isEqualTo(prompt);
        assertThat(r.path("usage").path("completion_tokens").asInt()).isBetween(1, 8);
        assertThat(r.path("usage").path("total_tokens").asInt())
                .isEqualTo(prompt + r.path("usage").path("completion_tokens").asInt());
    }

    @Test
    void adapterChangesTheAnswerOfTheSharedBase() throws IOException {
        Map<String, Object> body = Map.of("temperature", 0, "max_tokens", 12, "logprobs", true,
                "messages", List.of(Map.of("role", "user", "content", "Summarise: the parcel arrived late")));
        JsonNode base = post("/v1/chat/completions", with(body, "model", "qwen3-tiny"));
        JsonNode adapted = post("/v1/chat/completions", with(body, "model", "support-triage"));
        assertThat(adapted.path("model").asText()).isEqualTo("support-triage");
        assertThat(logprobs(adapted)).isNotEqualTo(logprobs(base));
    }

    @Test
    void streamingYieldsTheSameTextAsTheNonStreamedAnswer() throws IOException {
        Map<String, Object> body = Map.of("model", "support-triage", "temperature", 0, "max_tokens", 10,
                "messages", List.of(Map.of("role", "user", "content", "hello")));
        String whole = post("/v1/chat/completions", body).path("choices").get(0).path("message").path("content")
                .asText();
        String sse = client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", JSON.writeValueAsString(
                with(with(body, "stream", true), "stream_options", Map.of("include_usage", true))))
                .contentType(MediaType.APPLICATION_JSON_TYPE).accept(MediaType.TEXT_EVENT_STREAM_TYPE));
        List<JsonNode> chunks = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        String last = null;
        for (String line : sse.split("\n")) {
            if (!line.startsWith("data:")) {
                continue;
            }
            last = line.substring(5).trim();
            if (last.equals("[DONE]")) {
                continue;
            }
            JsonNode chunk = JSON.readTree(last);
            chunks.add(chunk);
            if (chunk.path("choices").size() > 0) {
                text.append(chunk.path("choices").get(0).path("delta").path("content").asText(""));
            }
        }
        assertThat(last).isEqualTo("[DONE]");
        assertThat(text.toString()).isEqualTo(whole);
        assertThat(chunks.get(0).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertThat(usage.path("choices")).isEmpty();
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isPositive();
    }

    @Test
    void textCompletionTakesTokenIdsAndReturnsLegacyLogprobs() throws IOException {
        int[] ids = serving.tokenizer().encode("The customer asked about");
        JsonNode r = post("/v1/completions", Map.of("model", "qwen3-tiny", "prompt", ids, "max_tokens", 5,
                "temperature", 0, "logprobs", 2, "n", 2, "seed", 3));
        assertThat(r.path("object").asText()).isEqualTo("text_completion");
        assertThat(r.path("choices")).hasSize(2);
        JsonNode lp = r.path("choices").get(0).path("logprobs");
        assertThat(lp.path("tokens")).hasSize(5);
        assertThat(lp.path("top_logprobs").get(0).size()).isEqualTo(2);
        assertThat(r.path("choices").get(0).path("text").asText())
                .isEqualTo(r.path("choices").get(1).path("text").asText());
        assertThat(r.path("usage").path("prompt_tokens").asInt()).isEqualTo(ids.length);
    }

    @Test
    void unknownModelIs404WithAnOpenAiError() {
        HttpClientResponseException e = error("/v1/chat/completions", Map.of("model", "nope",
                "messages", List.of(Map.of("role", "user", "content", "hi"))));
        assertThat(e.getStatus().getCode()).isEqualTo(404);
        JsonNode err = errorBody(e);
        assertThat(err.path("code").asText()).isEqualTo("model_not_found");
        assertThat(err.path("param").asText()).isEqualTo("model");
    }

    @Test
    void badParametersAre400NamingTheField() {
        HttpClientResponseException e = error("/v1/chat/completions", Map.of("model", "qwen3-tiny",
                "temperature", 7, "messages", List.of(Map.of("role", "user", "content", "hi"))));
        assertThat(e.getStatus().getCode()).as(e.getResponse().getBody(String.class).orElse("")).isEqualTo(400);
        assertThat(errorBody(e).path("param").asText()).isEqualTo("temperature");

        HttpClientResponseException role = error("/v1/chat/completions", Map.of("model", "qwen3-tiny",
                "messages", List.of(Map.of("role", "robot", "content", "hi"))));
        assertThat(errorBody(role).path("param").asText()).isEqualTo("messages[0].role");
        assertThat(errorBody(role).path("message").asText()).doesNotContain("Exception");
    }

    @Test
    void fullQueueIs429WithRetryAfter() {
        serving.admit(4);
        try {
            HttpClientResponseException e = error("/v1/completions", Map.of("model", "qwen3-tiny", "prompt", "hi"));
            assertThat(e.getStatus().getCode()).isEqualTo(429);
            assertThat(e.getResponse().getHeaders().get("Retry-After")).isNotBlank();
        } finally {
            serving.release(4);
        }
    }

    private static Map<String, Object> with(Map<String, Object> body, String key, Object value) {
        Map<String, Object> copy = new java.util.LinkedHashMap<>(body);
        copy.put(key, value);
        return copy;
    }

    private static List<Double> logprobs(JsonNode r) {
        List<Double> out = new ArrayList<>();
        r.path("choices").get(0).path("logprobs").path("content").forEach(t -> out.add(t.path("logprob").asDouble()));
        return out;
    }

    private JsonNode get(String path) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(path));
    }

    private JsonNode post(String path, Object body) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST(path, JSON.writeValueAsString(body))
                .contentType(MediaType.APPLICATION_JSON_TYPE)));
    }

    private HttpClientResponseException error(String path, Object body) {
        return catchThrowableOfType(HttpClientResponseException.class, () -> post(path, body));
    }

    private static JsonNode errorBody(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElseThrow()).path("error");
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
