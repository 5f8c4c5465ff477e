package dev.quiver.adapters.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.tokenizer.jinja.PyCallable;
import dev.quiver.adapters.tokenizer.jinja.RaisedException;
import dev.quiver.adapters.tokenizer.jinja.Template;
import dev.quiver.adapters.tokenizer.jinja.TemplateException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template rendered as transformers' {@code apply_chat_template} renders it (Jinja2 with
 * trim_blocks, lstrip_blocks, loop controls, {@code raise_exception}, {@code strftime_now}, {@code tojson}).
 */
public final class ChatTemplate {

    /**
     * The ChatML template the demo models ship, in the style of Qwen2.5: every turn is
     * {@code <|im_start|>role\n...<|im_end|>\n}; tools are listed in the system turn; assistant
     * tool calls are {@code <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>}; tool results
     * are grouped into one user turn of {@code <tool_response>} blocks. Unlike Qwen it adds no default
     * system prompt. It sticks to syntax that Jinja2 and Jinjava render identically.
     */
    public static final String CHATML = """
            {%- set has_system = messages | length > 0 and messages[0].role == 'system' %}
            {%- if tools %}
                {{- '<|im_start|>system\\n' }}
                {%- if has_system %}
                    {{- messages[0].content + '\\n\\n' }}
                {%- endif %}
                {{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' }}
                {{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
                {%- for tool in tools %}
                    {{- '\\n' }}
                    {{- tool | tojson }}
                {%- endfor %}
                {{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments '
                    + 'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n'
                    + '{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
            {%- elif has_system %}
                {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
            {%- endif %}
            {%- for message in messages %}
                {%- if message.role == 'system' %}
                    {%- if not loop.first %}
                        {{- '<|im_start|>system\\n' + message.content + '<|im_end|>\\n' }}
                    {%- endif %}
                {%- elif message.role == 'user' or (message.role == 'assistant' and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
                {%- elif message.role == 'assistant' %}
                    {{- '<|im_start|>assistant' }}
                    {%- if message.content %}
                        {{- '\\n' + message.content }}
                    {%- endif %}
                    {%- for tool_call in message.tool_calls %}
                        {%- if tool_call.function %}
                            {%- set tool_call = tool_call.function %}
                        {%- endif %}
                        {{- '\\n<tool_call>\\n{"name": ' }}
                        {{- tool_call.name | tojson }}
                        {{- ', "arguments": ' }}
                        {%- if tool_call.arguments is string %}
                            {{- tool_call.arguments }}
                        {%- else %}
                            {{- tool_call.arguments | tojson }}
                        {%- endif %}
                        {{- '}\\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\\n' }}
                {%- elif message.role == 'tool' %}
                    {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
                        {{- '<|im_start|>user' }}
                    {%- endif %}
                    {{- '\\n<tool_response>\\n' }}
                    {%- if message.content is string %}
                        {{- message.content }}
                    {%- else %}
                        {{- message.content | tojson }}
                    {%- endif %}
                    {{- '\\n</tool_response>' }}
                    {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
                        {{- '<|im_end|>\\n' }}
                    {%- endif %}
                {%- else %}
                    {{- raise_exception('Unexpected message role "' + message.role
                        + '": expected system, user, assistant or tool') }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    private static final String JINJA_FILE = "chat_template.jinja";
    private static final String CONFIG_FILE = "tokenizer_config.json";
    private static final List<String> SPECIAL_TOKENS =
            List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token");

    private final Map<String, String> sources;
    private final Map<String, Parsed> templates;
    private final Map<String, String> specialTokens;
    private final String source;
    private final Clock clock;

    private ChatTemplate(Map<String, String> sources, Map<String, String> specialTokens, String source, Clock clock) {
        this.sources = Map.copyOf(sources);
        this.templates = new LinkedHashMap<>();
        sources.forEach((name, text) -> templates.put(name, Parsed.of(text)));
        this.specialTokens = specialTokens;
        this.source = source;
        this.clock = clock;
    }

    /**
     * Reads the template as transformers does: {@code chat_template.jinja} if present, else
     * {@code chat_template} of {@code tokenizer_config.json} (a string, or a list of {@code {name, template}}
     * entries, of which {@code tool_use} serves requests with tools and {@code default} the others), with
     * the special tokens ({@code bos_token}, {@code eos_token}, ...) of {@code tokenizer_config.json}.
     *
     * @throws ChatTemplateException if there is no template or the files are unreadable; a template that
     *     does not parse is reported when rendering, so that a server still starts and answers 400
     */
    public static ChatTemplate load(Path modelDir) {
        return load(modelDir, Clock.systemDefaultZone());
    }

    /** As {@link #load(Path)}, with the clock {@code strftime_now} reads (tests fix it). */
    public static ChatTemplate load(Path modelDir, Clock clock) {
        Path config = modelDir.resolve(CONFIG_FILE).toAbsolutePath();
        JsonNode settings = Files.isRegularFile(config) ? readJson(config) : null;
        Map<String, String> tokens = new HashMap<>();
        if (settings != null) {
            for (String name : SPECIAL_TOKENS) {
                String text = tokenText(settings.get(name));
                if (text != null) {
                    tokens.put(name, text);
                }
            }
        }
        Path jinja = modelDir.resolve(JINJA_FILE).toAbsolutePath();
        if (Files.isRegularFile(jinja)) {
            try {
                return new ChatTemplate(Map.of("default", Files.readString(jinja)), tokens, jinja.toString(), clock);
            } catch (IOException e) {
                throw new ChatTemplateException("could not read " + jinja + ": " + e.getMessage(), e);
            }
        }
        if (settings == null) {
            throw new ChatTemplateException("no " + JINJA_FILE + " or " + CONFIG_FILE + " in " + modelDir.toAbsolutePath()
                    + ": a model directory needs one holding the chat template; check the path, or write one "
                    + "with \"chat_template\": ChatTemplate.CHATML");
        }
        return new ChatTemplate(named(settings.get("chat_template"), config), tokens, config.toString(), clock);
    }

    /** Wraps a template string; the tokens may be null when the template does not use them. */
    public static ChatTemplate of(String template, String bosToken, String eosToken) {
        Map<String, String> tokens = new HashMap<>();
        if (bosToken != null) {
            tokens.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            tokens.put("eos_token", eosToken);
        }
        return new ChatTemplate(Map.of("default", Objects.requireNonNull(template, "template")), tokens,
                "the given template", Clock.systemDefaultZone());
    }

    /**
     * Renders a conversation with the generation prompt or not, and no documents or extra variables.
     *
     * @see #render(ChatInput)
     */
    public String render(
            List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt) {
        return render(new ChatInput(messages, tools, null, addGenerationPrompt, false, Map.of()));
    }

    /**
     * Renders a conversation as {@code apply_chat_template(..., tokenize=False)} does.
     *
     * <p>Messages, tools and documents reach the template as they are, as Python dicts would. Use
     * insertion-ordered maps for anything the template serialises with {@code tojson}: key order is part of
     * the prompt. With {@code continueFinalMessage} the text is cut after the last message's content, so the
     * model continues it (transformers' {@code continue_final_message}).
     *
     * @throws ChatTemplateException if the template does not parse, fails, or calls {@code raise_exception}
     */
    public String render(ChatInput input) {
        Objects.requireNonNull(input.messages(), "messages");
        Parsed parsed = select(input.tools() != null);
        if (parsed.error != null) {
            throw new ChatTemplateException("chat template from " + source + " does not parse: "
                    + parsed.error.getMessage() + "; Python Jinja2 refuses it too, so fix the template", parsed.error);
        }
        Map<String, Object> vars = new HashMap<>(specialTokens);
        vars.putAll(input.kwargs());
        vars.put("messages", input.messages());
        vars.put("tools", input.tools());
        vars.put("documents", input.documents());
        vars.put("add_generation_prompt", input.addGenerationPrompt());
        vars.put("raise_exception", (PyCallable) (args, kwargs) -> {
            throw new RaisedException(args.isEmpty() ? "" : String.valueOf(args.get(0)));
        });
        vars.put("strftime_now", (PyCallable) (args, kwargs) -> Strftime.format(String.valueOf(args.get(0)), clock));
        String rendered;
        try {
            rendered = parsed.template.render(vars);
        } catch (RaisedException e) {
            throw new ChatTemplateException("chat template from " + source + " raised an exception: " + e.getMessage());
        } catch (TemplateException e) {
            throw new ChatTemplateException("chat template from " + source + " failed to render: " + e.getMessage()
                    + "; check the messages against what the template expects, or fix the template", e);
        }
        return input.continueFinalMessage() ? cutAfterFinalMessage(rendered, input.messages()) : rendered;
    }

    /** transformers' continue_final_message: keep the text up to the end of the last message's content. */
    private String cutAfterFinalMessage(String rendered, List<Map<String, Object>> messages) {
        if (messages.isEmpty() || !(messages.get(messages.size() - 1).get("content") instanceof String last)) {
            throw new ChatTemplateException("continue_final_message needs a last message with string content");
        }
        int at = rendered.lastIndexOf(last);
        if (at >= 0) {
            return rendered.substring(0, at + last.length());
        }
        String stripped = last.strip();
        at = rendered.lastIndexOf(stripped);
        if (at < 0) {
            throw new ChatTemplateException("continue_final_message is set but the final message does not appear in "
                    + "the prompt rendered by " + source + "; the template rewrites it, so prefill cannot continue it");
        }
        return rendered.substring(0, at + stripped.length());
    }

    /**
     * The text of the template that renders requests with or without tools, or null when there is none; the
     * serving tier reads the family's tool-call format from it.
     */
    public String text(boolean withTools) {
        return sources.get(name(withTools));
    }

    private String name(boolean withTools) {
        return withTools && templates.containsKey("tool_use") ? "tool_use" : "default";
    }

    private Parsed select(boolean withTools) {
        Parsed parsed = templates.get(name(withTools));
        if (parsed == null) {
            throw new ChatTemplateException(source + " lists chat templates " + templates.keySet()
                    + " but none named \"default\"" + (withTools ? "" : " for requests without tools")
                    + "; add a {\"name\": \"default\", \"template\": ...} entry");
        }
        return parsed;
    }

    private static Map<String, String> named(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            throw new ChatTemplateException(file + " has no chat_template and there is no " + JINJA_FILE
                    + " beside it; add one, e.g. \"chat_template\": ChatTemplate.CHATML");
        }
        if (node.isTextual()) {
            return Map.of("default", node.asText());
        }
        if (node.isArray()) {
            Map<String, String> out = new LinkedHashMap<>();
            for (JsonNode entry : node) {
                if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
                    throw new ChatTemplateException(file + " has a chat_template entry without a string name and "
                            + "template: " + entry);
                }
                out.put(entry.path("name").asText(), entry.path("template").asText());
            }
            return out;
        }
        throw new ChatTemplateException(file + " has a chat_template of type " + node.getNodeType()
                + "; expected a string or a list of {\"name\", \"template\"} objects");
    }

    private static JsonNode readJson(Path file) {
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new ChatTemplateException("could not parse " + file + " as JSON: " + e.getMessage(), e);
        }
        if (config == null || !config.isObject()) {
            throw new ChatTemplateException(
                    file + " is not a JSON object; expected tokenizer settings with a chat_template");
        }
        return config;
    }

    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        // transformers writes AddedToken objects as {"__type": "AddedToken", "content": ..., ...}.
        return node.isObject() ? node.path("content").asText(null) : node.asText();
    }

    /** A template parsed once, or the reason it does not parse. */
    private record Parsed(Template template, TemplateException error) {
        static Parsed of(String text) {
            try {
                return new Parsed(Template.parse(text), null);
            } catch (TemplateException e) {
                return new Parsed(null, e);
            }
        }
    }
}
