package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.constraint.IndependentValidator;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** response_format and the guided_* extensions through the real HTTP API, on the random-weights tiny model. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StructuredOutputApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SCHEMA = "{\"type\": \"object\", \"properties\": {\"team\": {\"enum\": [\"billing\","
            + " \"tech\"]}, \"note\": {\"type\": \"string\", \"maxLength\": 10}}, \"required\": [\"team\", \"note\"],"
            + " \"additionalProperties\": false}";

    @Inject
    @Client("/")
    HttpClient client;

    private final IndependentValidator validator = new IndependentValidator();

    @Override
    public Map<String, String> getProperties() {
        try {
            Path model = TestModels.tiny(Files.createTempDirectory("quiver-structured"), ModelFamily.QWEN3);
            return Map.of("quiver.base-model.path", model.toString(), "quiver.serving.max-sequence-length", "256");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void chatWithAJsonSchemaAnswersAValidValueForEveryChoice() throws IOException {
        JsonNode schema = JSON.readTree(SCHEMA);
        for (double temperature : new double[] {0, 1.0}) {
            JsonNode r = post("/v1/chat/completions", Map.of("model", "qwen3-tiny", "temperature", temperature,
                    "n", 2, "max_tokens", 120, "messages", List.of(Map.of("role", "user", "content", "route this")),
                    "response_format", Map.of("type", "json_schema", "json_schema", Map.of("name", "route",
                            "strict", true, "schema", schema))));
            for (JsonNode choice : r.path("choices")) {
                String content = choice.path("message").path("content").asText();
                assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
                assertThat(validator.problems(schema, content)).as(content).isEmpty();
            }
        }
    }

    @Test
    void streamedDeltasJoinToAValidValue() throws IOException {
        String sse = client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", JSON.writeValueAsString(
                Map.of("model", "qwen3-tiny", "temperature", 1.0, "seed", 3, "max_tokens", 120, "stream", true,
                        "messages", List.of(Map.of("role", "user", "content", "route this")),
                        "response_format", Map.of("type", "json_schema", "json_schema",
                                Map.of("name", "route", "schema", JSON.readTree(SCHEMA))))))
                .contentType(MediaType.APPLICATION_JSON_TYPE).accept(MediaType.TEXT_EVENT_STREAM_TYPE));
        StringBuilder text = new StringBuilder();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data:") && !line.contains("[DONE]")) {
                text.append(JSON.readTree(line.substring(5)).path("choices").path(0).path("delta").path("content")
                        .asText(""));
            }
        }
        assertThat(validator.problems(JSON.readTree(SCHEMA), text.toString())).as(text.toString()).isEmpty();
    }

    @Test
    void completionsTakeGuidedChoiceAndGuidedRegex() throws IOException {
        JsonNode choice = post("/v1/completions", Map.of("model", "qwen3-tiny", "prompt", "Sentiment:",
                "temperature", 1.0, "max_tokens", 10, "guided_choice", List.of("positive", "negative")));
        assertThat(choice.path("choices").get(0).path("text").asText()).isIn("positive", "negative");
        JsonNode regex = post("/v1/completions", Map.of("model", "qwen3-tiny", "prompt", "Ticket id:",
                "temperature", 0, "max_tokens", 10, "guided_regex", "[A-Z]{2}-[0-9]{3}"));
        assertThat(regex.path("choices").get(0).path("text").asText()).matches("[A-Z]{2}-[0-9]{3}");
    }

    @Test
    void anUnsupportedSchemaIs400NamingTheKeywordAndItsPath() throws IOException {
        HttpClientResponseException e = error(Map.of("type", "json_schema", "json_schema", Map.of("name", "x",
                "schema", JSON.readTree("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"wat\"}}}"))));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(errorBody(e).path("param").asText()).isEqualTo("response_format.json_schema.schema.properties.a"
                + ".type");
        HttpClientResponseException unknown = error(Map.of("type", "json_schema", "json_schema", Map.of("name", "x",
                "strict", true, "schema", JSON.readTree("{\"type\": \"integer\", \"multipleOf\": 3}"))));
        assertThat(errorBody(unknown).path("message").asText()).contains("'multipleOf' is not supported");
        assertThat(errorBody(error(Map.of("type", "yaml"))).path("param").asText()).isEqualTo("response_format.type");
    }

    private HttpClientResponseException error(Object responseFormat) {
        return catchThrowableOfType(HttpClientResponseException.class, () -> post("/v1/chat/completions",
                Map.of("model", "qwen3-tiny", "messages", List.of(Map.of("role", "user", "content", "hi")),
                        "response_format", responseFormat)));
    }

    private JsonNode post(String path, Object body) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST(path, JSON.writeValueAsString(body))
                .contentType(MediaType.APPLICATION_JSON_TYPE)));
    }

    private static JsonNode errorBody(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElseThrow()).path("error");
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
