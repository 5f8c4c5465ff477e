package dev.quiver.adapters.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Published chat templates (Qwen3, Qwen2.5, Llama 3.1/3.2, Gemma 3, Mistral, SmolLM; see
 * {@code chat-templates/NOTICE.md}) over a battery of conversations, byte for byte against Python Jinja2.
 *
 * <p>The expected renderings in {@code chat-templates/expected.json} were produced by
 * {@code chat-templates/generate_fixtures.py} (Python 3.11, Jinja2 3.1.6) with transformers' chat-template
 * environment; rerun it after changing a template or conversation. Both sides fix strftime_now's clock.
 */
class ChatTemplateConformanceTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Clock FIXED_NOW = Clock.fixed(
            LocalDateTime.of(2025, 3, 14, 9, 26, 53).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

    @TempDir
    Path dir;

    static Stream<Arguments> renderings() throws IOException {
        JsonNode expected = resource("expected.json");
        List<Arguments> out = new ArrayList<>();
        for (Iterator<String> t = expected.fieldNames(); t.hasNext(); ) {
            String template = t.next();
            for (Iterator<String> c = expected.get(template).fieldNames(); c.hasNext(); ) {
                out.add(Arguments.of(template, c.next()));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("renderings")
    void rendersAsPythonJinja2Does(String template, String conversation) throws IOException {
        JsonNode expected = resource("expected.json").get(template).get(conversation);
        ChatTemplate chat = ChatTemplate.load(modelDir(template), FIXED_NOW);
        ChatInput input = input(resource("conversations.json").get(conversation));

        if (expected.has("error")) {
            assertThatThrownBy(() -> chat.render(input))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageEndingWith("raised an exception: " + expected.get("error").asText());
        } else {
            assertThat(chat.render(input)).isEqualTo(expected.get("text").asText());
        }
    }

    /** A model directory whose tokenizer_config.json carries the template and its special tokens. */
    Path modelDir(String template) throws IOException {
        Map<String, Object> config = new LinkedHashMap<>(
                JSON.convertValue(resource("templates.json").get(template).get("tokens"), MAP));
        config.put("chat_template", text("templates/" + template + ".jinja"));
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
        return dir;
    }

    static ChatInput input(JsonNode c) {
        return new ChatInput(
                JSON.convertValue(c.get("messages"), LIST),
                c.hasNonNull("tools") ? JSON.convertValue(c.get("tools"), LIST) : null,
                c.hasNonNull("documents") ? JSON.convertValue(c.get("documents"), LIST) : null,
                c.path("add_generation_prompt").asBoolean(false),
                c.path("continue_final_message").asBoolean(false),
                c.has("chat_template_kwargs") ? JSON.convertValue(c.get("chat_template_kwargs"), MAP) : Map.of());
    }

    static JsonNode resource(String name) throws IOException {
        return JSON.readTree(text(name));
    }

    static String text(String name) throws IOException {
        try (InputStream in = ChatTemplateConformanceTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static final TypeReference<List<Map<String, Object>>> LIST = new TypeReference<>() {};
    static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
}
