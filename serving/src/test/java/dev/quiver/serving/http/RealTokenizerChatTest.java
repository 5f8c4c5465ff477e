package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.runtime.SamplingParams;
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
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code /v1/chat/completions} on a model directory that carries the real Qwen3 tokenizer.json and
 * tokenizer_config.json (chat template included), as published, around random tiny weights. The prompts
 * are the conformance suite's conversations, and each prompt must be exactly what Python Jinja2 renders
 * (adapters' {@code chat-templates/expected.json}), counted by the real tokenizer.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealTokenizerChatTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    // the conformance fixtures live with the template engine's suite; one copy, read from the sibling module
    private static final Path FIXTURES = Path.of("..", "adapters", "src", "test", "resources", "chat-templates");
    private static final String MODEL = "qwen3-real-tokenizer";

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ServingEngine serving;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path model = TestModels.qwen3WithRealTokenizer(Files.createTempDirectory("quiver-real-tokenizer"));
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.serving.adapters-dir", Files.createTempDirectory("quiver-no-adapters").toString(),
                    "quiver.serving.max-sequence-length", "2048");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theTokenizerIsQwen3s() {
        assertThat(serving.tokenizer().vocabSize()).isEqualTo(151_669);
        assertThat(serving.tokenizer().encode("<|im_start|>user\nHello<|im_end|>"))
                .containsExactly(151644, 872, 198, 9707, 151645);
    }

    @Test
    void everyConversationIsPromptedAsJinja2RendersItAndCountedByTheRealTokenizer() throws IOException {
        JsonNode cases = JSON.readTree(FIXTURES.resolve("conversations.json").toFile());
        JsonNode expected = JSON.readTree(FIXTURES.resolve("expected.json").toFile()).path("qwen3");
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = cases.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            String text = expected.path(c.getKey()).path("text").asText(null);
            if (text == null) {
                continue; // a conversation Qwen3's template refuses (raise_exception) is no prompt
            }
            int[] tokens = serving.tokenizer().encode(text);
            assertThat(new RequestParser(serving).chat(request(c.getValue()), null).promptTokens()).as(c.getKey())
                    .containsExactly(tokens);
            JsonNode r = post(request(c.getValue()));
            assertThat(r.path("object").asText()).as(c.getKey()).isEqualTo("chat.completion");
            assertThat(r.path("usage").path("prompt_tokens").asInt()).as(c.getKey())
                    .isEqualTo(tokens.length);
            assertThat(r.path("choices").get(0).path("message").path("role").asText()).isEqualTo("assistant");
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(14);
    }

    @Test
    void aRequestWithToolsAnswersInOpenAiShape() throws IOException {
        JsonNode c = JSON.readTree(FIXTURES.resolve("conversations.json").toFile()).path("tools_user");
        JsonNode r = post(request(c));
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("finish_reason").asText()).isIn("stop", "length", "tool_calls");
        JsonNode message = choice.path("message");
        // random weights rarely write a call; whichever it answers, the shape is OpenAI's
        if (choice.path("finish_reason").asText().equals("tool_calls")) {
            assertThat(message.path("tool_calls").get(0).path("function").path("arguments").isTextual()).isTrue();
        } else {
            assertThat(message.path("content").isTextual()).isTrue();
            assertThat(message.path("content").asText()).doesNotContain("<tool_call>");
        }
        int completion = r.path("usage").path("completion_tokens").asInt();
        assertThat(completion).isBetween(1, 6);
        assertThat(r.path("usage").path("total_tokens").asInt())
                .isEqualTo(r.path("usage").path("prompt_tokens").asInt() + completion);
    }

    @Test
    void aStreamedRequestWithToolsEndsWithAFinishReasonAndDone() throws IOException {
        ObjectNode body = request(JSON.readTree(FIXTURES.resolve("conversations.json").toFile()).path("tools_user"));
        body.put("stream", true);
        String sse = client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", body.toString())
                .contentType(MediaType.APPLICATION_JSON_TYPE).accept(MediaType.TEXT_EVENT_STREAM_TYPE));
        List<String> data = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data:")) {
                data.add(line.substring(5).trim());
            }
        }
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        JsonNode last = JSON.readTree(data.get(data.size() - 2)).path("choices").get(0);
        assertThat(last.path("finish_reason").asText()).isIn("stop", "length", "tool_calls");
        assertThat(JSON.readTree(data.get(0)).path("choices").get(0).path("delta").path("role").asText())
                .isEqualTo("assistant");
    }

    @Test
    void unsetSamplingFieldsTakeGenerationConfigDefaultsAndSetOnesWin() throws IOException {
        RequestParser parser = new RequestParser(serving);
        ObjectNode body = JSON.createObjectNode().put("model", MODEL);
        body.putArray("messages").addObject().put("role", "user").put("content", "hi");
        SamplingParams defaults = parser.chat(body, null).params();
        assertThat(defaults.temperature()).isEqualTo(0.6);
        assertThat(defaults.topP()).isEqualTo(0.95);
        assertThat(defaults.topK()).isEqualTo(20);
        SamplingParams set = parser.chat(body.put("temperature", 0).put("top_p", 1).put("top_k", 0), null).params();
        assertThat(set.temperature()).isZero();
        assertThat(set.topP()).isEqualTo(1.0);
        assertThat(set.topK()).isZero();
    }

    @Test
    void mistypedChatFieldsAndImpossibleToolChoicesAre400sNamingTheField() throws IOException {
        JsonNode tools = JSON.readTree(FIXTURES.resolve("conversations.json").toFile()).path("tools_user");
        Map<String, String> cases = Map.of(
                "{\"chat_template_kwargs\": true}", "chat_template_kwargs",
                "{\"documents\": \"a text\"}", "documents",
                "{\"continue_final_message\": \"yes\"}", "continue_final_message",
                "{\"continue_final_message\": true, \"add_generation_prompt\": true}", "continue_final_message",
                "{\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}}",
                "tool_choice.function.name",
                "{\"tool_choice\": \"required\", \"response_format\": {\"type\": \"json_object\"}}",
                "tool_choice");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            ObjectNode body = request(tools);
            body.setAll((ObjectNode) JSON.readTree(c.getKey()));
            HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                    () -> post(body));
            assertThat(e.getStatus().getCode()).as(c.getKey()).isEqualTo(400);
            JsonNode error = JSON.readTree(e.getResponse().getBody(String.class).orElseThrow()).path("error");
            assertThat(error.path("param").asText()).as(c.getKey()).isEqualTo(c.getValue());
        }
    }

    @Test
    void aForcedToolChoiceAlwaysAnswersWithAValidCallEvenOnRandomWeights() throws IOException {
        ObjectNode body = JSON.createObjectNode().put("model", MODEL).put("max_tokens", 120).put("temperature", 1.0)
                .put("seed", 3);
        body.putArray("messages").addObject().put("role", "user").put("content", "What's the weather in Paris?");
        ObjectNode city = JSON.createObjectNode().put("type", "string").put("maxLength", 6);
        ObjectNode parameters = JSON.createObjectNode().put("type", "object");
        parameters.putObject("properties").set("city", city);
        parameters.putArray("required").add("city");
        for (String name : List.of("get_weather", "get_time")) {
            ObjectNode function = body.withArray("tools").addObject().put("type", "function").putObject("function")
                    .put("name", name);
            function.set("parameters", parameters);
        }
        for (JsonNode choice : List.of(JSON.getNodeFactory().textNode("required"),
                JSON.readTree("{\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}"))) {
            body.set("tool_choice", choice);
            JsonNode answer = post(body).path("choices").get(0);
            assertThat(answer.path("finish_reason").asText()).as(answer.toString()).isEqualTo("tool_calls");
            JsonNode call = answer.path("message").path("tool_calls").get(0).path("function");
            assertThat(call.path("name").asText()).isIn("get_weather", "get_time");
            if (choice.isObject()) {
                assertThat(call.path("name").asText()).isEqualTo("get_time");
            }
            JsonNode arguments = JSON.readTree(call.path("arguments").asText());
            assertThat(arguments.path("city").isTextual()).as(arguments.toString()).isTrue();
            assertThat(arguments.path("city").asText().length()).isLessThanOrEqualTo(6);
        }
    }

    /** The conversation as a chat request under vLLM's field names; fixtures default to no generation prompt. */
    private static ObjectNode request(JsonNode conversation) {
        ObjectNode body = conversation.deepCopy();
        body.put("model", MODEL);
        body.put("max_tokens", 6);
        body.put("temperature", 0);
        if (!body.has("add_generation_prompt")) {
            body.put("add_generation_prompt", false);
        }
        return body;
    }

    private JsonNode post(ObjectNode body) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", body.toString())
                .contentType(MediaType.APPLICATION_JSON_TYPE)));
    }
}
