package dev.quiver.adapters.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {

    private final ChatTemplate chatml = ChatTemplate.of(ChatTemplate.CHATML, null, "<|im_end|>");

    @Test
    void rendersSystemUserAssistantConversation() {
        String rendered = chatml.render(List.of(
                message("system", "You are a helpful assistant."),
                message("user", "Hi there!"),
                message("assistant", "Hello! How can I help?")), null, false);

        assertThat(rendered).isEqualTo("""
                <|im_start|>system
                You are a helpful assistant.<|im_end|>
                <|im_start|>user
                Hi there!<|im_end|>
                <|im_start|>assistant
                Hello! How can I help?<|im_end|>
                """);
    }

    @Test
    void addsGenerationPromptAndNoDefaultSystemTurn() {
        String rendered = chatml.render(List.of(message("user", "What is 2+2?")), List.of(), true);

        assertThat(rendered).isEqualTo("""
                <|im_start|>user
                What is 2+2?<|im_end|>
                <|im_start|>assistant
                """);
    }

    @Test
    void listsToolsInTheSystemTurn() {
        String rendered = chatml.render(
                List.of(message("system", "Be brief."), message("user", "Weather in Paris?")),
                List.of(weatherTool()),
                true);

        assertThat(rendered).isEqualTo("""
                <|im_start|>system
                Be brief.

                # Tools

                You may call one or more functions to assist with the user query.

                You are provided with function signatures within <tools></tools> XML tags:
                <tools>
                {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", \
                "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                </tools>

                For each function call, return a json object with function name and arguments within \
                <tool_call></tool_call> XML tags:
                <tool_call>
                {"name": <function-name>, "arguments": <args-json-object>}
                </tool_call><|im_end|>
                <|im_start|>user
                Weather in Paris?<|im_end|>
                <|im_start|>assistant
                """);
    }

    @Test
    void rendersToolCallsAndGroupsToolResponsesIntoOneUserTurn() {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("type", "function");
        call.put("function", ordered("name", "get_weather", "arguments", ordered("city", "Paris", "unit", "celsius")));
        // OpenAI-style clients send arguments as a JSON string; it must not be quoted again.
        Map<String, Object> stringCall = ordered("name", "get_weather", "arguments", "{\"city\": \"Oslo\"}");
        Map<String, Object> assistant = new LinkedHashMap<>();
        assistant.put("role", "assistant");
        assistant.put("content", null);
        assistant.put("tool_calls", List.of(call, stringCall));

        String rendered = chatml.render(List.of(
                message("user", "Weather in Paris and Oslo?"),
                assistant,
                message("tool", "{\"temperature\": 18}"),
                ordered("role", "tool", "content", ordered("temperature", -2.5)),
                message("assistant", "Paris is 18 °C, Oslo is -2.5 °C.")), null, false);

        assertThat(rendered).isEqualTo("""
                <|im_start|>user
                Weather in Paris and Oslo?<|im_end|>
                <|im_start|>assistant
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
                </tool_call>
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Oslo"}}
                </tool_call><|im_end|>
                <|im_start|>user
                <tool_response>
                {"temperature": 18}
                </tool_response>
                <tool_response>
                {"temperature": -2.5}
                </tool_response><|im_end|>
                <|im_start|>assistant
                Paris is 18 °C, Oslo is -2.5 °C.<|im_end|>
                """);
    }

    @Test
    void keepsAssistantTextBeforeToolCalls() {
        Map<String, Object> assistant = ordered("role", "assistant", "content", "Let me check.");
        assistant.put("tool_calls", List.of(ordered("name", "lookup_order", "arguments", ordered("order_id", "5583-2201"))));

        String rendered = chatml.render(List.of(assistant), null, false);

        assertThat(rendered).isEqualTo("""
                <|im_start|>assistant
                Let me check.
                <tool_call>
                {"name": "lookup_order", "arguments": {"order_id": "5583-2201"}}
                </tool_call><|im_end|>
                """);
    }

    @Test
    void unknownRoleRaisesFromChatMl() {
        assertThatThrownBy(() -> chatml.render(List.of(message("robot", "beep")), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("raised an exception: Unexpected message role \"robot\"");
    }

    @Test
    void raiseExceptionSurfacesItsMessage() {
        ChatTemplate template = ChatTemplate.of(
                "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with a user turn') }}"
                        + "{% endif %}ok",
                null,
                null);

        assertThat(template.render(List.of(message("user", "hi")), null, false)).isEqualTo("ok");
        assertThatThrownBy(() -> template.render(List.of(message("assistant", "hi")), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("chat template from the given template raised an exception: "
                        + "Conversation must start with a user turn");
    }

    @Test
    void templateThatDoesNotParseIsAnErrorNamingTheLine() {
        assertThatThrownBy(() -> ChatTemplate.of("{% for m in messages %}\n{{ m.content }}", null, null)
                        .render(List.of(message("user", "hi")), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("does not parse: line 1: missing {% endfor %} for the for opened here")
                .hasMessageContaining("Python Jinja2 refuses it too");
        assertThatThrownBy(() -> ChatTemplate.of("{{ messages | length( }}", null, null)
                        .render(List.of(), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("line 1: unexpected end of template: a tag opened here was not closed with '}}'");
        assertThatThrownBy(() -> ChatTemplate.of("\n{% endif %}", null, null).render(List.of(), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("line 2: unknown tag 'endif': no matching block is open");
    }

    @Test
    void pythonSlicingStringMethodsAndNamespaceWork() {
        ChatTemplate template = ChatTemplate.of("""
                {%- set ns = namespace(last=-1) %}
                {%- for m in messages[::-1] %}
                    {%- if ns.last == -1 and m.content.startswith('<tool') %}{% set ns.last = loop.index0 %}{% endif %}
                {%- endfor %}
                {{- ns.last }}|{{ messages[0].content.split('>')[-1].lstrip() | tojson }}|{{ messages[1:] | length }}
                """, null, null);

        String rendered = template.render(List.of(message("user", "<tool_response> é"), message("user", "hi")), null, false);

        assertThat(rendered).isEqualTo("1|\"é\"|1");
    }

    @Test
    void undefinedAttributeOfUndefinedIsARenderErrorNamingTheLine() {
        assertThatThrownBy(() -> ChatTemplate.of("ok\n{{ messages[0].nothing.deeper }}", null, null)
                        .render(List.of(message("user", "hi")), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("failed to render: line 2: 'dict object' has no attribute 'nothing'");
    }

    @Test
    void stripsWhitespaceAroundDashedTagsAndBlocksAsJinja2Does() {
        ChatTemplate template = ChatTemplate.of("""
                {% for m in messages %}
                    {{- m.role }}
                    {% if loop.last %}
                [last]
                    {% endif %}
                {% endfor %}
                """, null, null);

        assertThat(template.render(List.of(message("user", "a"), message("assistant", "b")), null, false))
                .isEqualTo("user\nassistant\n[last]\n");
    }

    @Test
    void tojsonMatchesPythonJsonDumps() {
        Map<String, Object> data = ordered("role", "user", "content", "Line \"one\"\n\ttab\\ café 日本 🎉 \u0001");
        data.put("n", 3);
        data.put("f", 0.5);
        data.put("tiny", 1e-05);
        data.put("big", 1e16);
        data.put("list", java.util.Arrays.asList(true, null, 2.0));
        data.put("empty", Map.of());

        String rendered = ChatTemplate.of("{{ messages[0] | tojson }}", null, null).render(List.of(data), null, false);

        assertThat(rendered).isEqualTo("{\"role\": \"user\", \"content\": \"Line \\\"one\\\"\\n\\ttab\\\\ café 日本 🎉 \\u0001\", "
                + "\"n\": 3, \"f\": 0.5, \"tiny\": 1e-05, \"big\": 1e+16, \"list\": [true, null, 2.0], \"empty\": {}}");
    }

    @Test
    void tojsonAcceptsIndentAndSortKeys() {
        Map<String, Object> data = ordered("role", "user", "b", List.of(1, Map.of("c", 2)));

        String rendered = ChatTemplate.of("{{ messages[0] | tojson(indent=2, sort_keys=true) }}", null, null)
                .render(List.of(data), null, false);

        assertThat(rendered).isEqualTo("{\n  \"b\": [\n    1,\n    {\n      \"c\": 2\n    }\n  ],\n  \"role\": \"user\"\n}");
    }

    @Test
    void exposesBosAndEosTokensAndGenerationTag() {
        ChatTemplate template = ChatTemplate.of(
                "{{ bos_token }}{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}"
                        + "{{ eos_token }}",
                "<s>",
                "</s>");

        assertThat(template.render(List.of(message("assistant", "hi")), null, false)).isEqualTo("<s>hi</s>");
    }

    @Test
    void readsDefaultTemplateFromListFormConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {
                  "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                  "eos_token": "</s>",
                  "chat_template": [
                    {"name": "tool_use", "template": "TOOLS"},
                    {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}
                  ]
                }
                """);

        String rendered = ChatTemplate.load(dir).render(List.of(message("user", "hello")), null, false);

        assertThat(rendered).isEqualTo("<s>hello</s>");
    }

    @Test
    void readsStringTemplateFromConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"eos_token\": \"<|im_end|>\", \"chat_template\": " + jsonString(ChatTemplate.CHATML) + "}");

        String rendered = ChatTemplate.load(dir).render(List.of(message("user", "hello")), null, true);

        assertThat(rendered).isEqualTo("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void missingConfigIsAnErrorNamingThePath(@TempDir Path dir) {
        assertThatThrownBy(() -> ChatTemplate.load(dir))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("no chat_template.jinja or tokenizer_config.json in " + dir.toAbsolutePath());
    }

    @Test
    void chatTemplateJinjaFileWinsOverTokenizerConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<s>\", \"chat_template\": \"from config\"}");
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token }}from file\n");

        assertThat(ChatTemplate.load(dir).render(List.of(), null, false)).isEqualTo("<s>from file");
    }

    @Test
    void namedTemplatesServeToolUseOnlyToRequestsWithTools(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ["
                + "{\"name\": \"default\", \"template\": \"plain\"}, {\"name\": \"tool_use\", \"template\": \"tools\"}]}");
        ChatTemplate template = ChatTemplate.load(dir);

        assertThat(template.render(List.of(), null, false)).isEqualTo("plain");
        assertThat(template.render(List.of(), List.of(weatherTool()), false)).isEqualTo("tools");
    }

    @Test
    void continueFinalMessageCutsAfterTheLastContent() {
        String rendered = chatml.render(new ChatInput(
                List.of(message("user", "Hi"), message("assistant", "Sure, here")), null, null, false, true, Map.of()));

        assertThat(rendered).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nSure, here");
    }

    @Test
    void configWithoutChatTemplateIsAnError(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");

        assertThatThrownBy(() -> ChatTemplate.load(dir))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("has no chat_template");
    }

    @Test
    void listFormWithoutDefaultIsAnErrorListingTheNames(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}, {\"name\": \"rag\", \"template\": \"y\"}]}");

        assertThatThrownBy(() -> ChatTemplate.load(dir).render(List.of(), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("[tool_use, rag]")
                .hasMessageContaining("none named \"default\"");
    }

    private static Map<String, Object> message(String role, String content) {
        return ordered("role", role, "content", content);
    }

    private static Map<String, Object> weatherTool() {
        Map<String, Object> parameters = ordered("type", "object", "properties", ordered("city", ordered("type", "string")));
        parameters.put("required", List.of("city"));
        return ordered("type", "function", "function", ordered("name", "get_weather", "parameters", parameters));
    }

    /** Builds an insertion-ordered map, as a Python dict literal would be. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    private static String jsonString(String s) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
    }
}
