package dev.quiver.adapters.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A Hugging Face chat template (Jinja) rendered with Jinjava, set up to match transformers'
 * {@code apply_chat_template}: trim_blocks and lstrip_blocks on, {@code raise_exception}, a
 * Python-compatible {@code tojson}, the {@code generation} tag, and template errors as exceptions.
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

    private static final String CONFIG_FILE = "tokenizer_config.json";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final String source;
    private final Jinjava jinjava;

    private ChatTemplate(String template, String bosToken, String eosToken, String source) {
        this.template = Objects.requireNonNull(template, "template");
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.source = source;
        this.jinjava = newEnvironment();
    }

    /**
     * Reads {@code chat_template}, {@code bos_token} and {@code eos_token} from
     * {@code modelDir/tokenizer_config.json}.
     *
     * <p>{@code chat_template} may be a string or a list of {@code {name, template}} entries, of
     * which the one named {@code default} is used. The tokens may be strings or
     * {@code {"content": ...}} objects.
     *
     * @throws ChatTemplateException if the file is missing, unparsable or has no usable chat_template
     */
    public static ChatTemplate load(Path modelDir) {
        Path file = modelDir.resolve(CONFIG_FILE).toAbsolutePath();
        if (!Files.isRegularFile(file)) {
            throw new ChatTemplateException("no " + CONFIG_FILE + " at " + file
                    + ": a model directory needs one holding the chat_template; check the path, or write one "
                    + "with \"chat_template\": ChatTemplate.CHATML");
        }
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
        String template = chatTemplate(config.get("chat_template"), file);
        return new ChatTemplate(
                template, tokenText(config.get("bos_token")), tokenText(config.get("eos_token")), file.toString());
    }

    /** Wraps a template string; the tokens may be null when the template does not use them. */
    public static ChatTemplate of(String template, String bosToken, String eosToken) {
        return new ChatTemplate(template, bosToken, eosToken, "the given template");
    }

    /**
     * Renders a conversation.
     *
     * <p>Messages and tools are passed to the template as they are, as Python dicts would be. Use
     * insertion-ordered maps ({@code LinkedHashMap}) for anything the template serialises with
     * {@code tojson}: key order is part of the prompt, and {@code Map.of} has none.
     *
     * @param messages the turns, each with at least {@code role} and, usually, {@code content}
     * @param tools function schemas, or null or empty for none
     * @param addGenerationPrompt whether to end with the header that opens the assistant's turn
     * @throws ChatTemplateException if the template has an error or calls {@code raise_exception}
     */
    public String render(
            List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", messages);
        // A missing variable is Jinja's None; an empty list stays a (falsy) list, as in transformers.
        if (tools != null) {
            vars.put("tools", tools);
        }
        vars.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) {
            vars.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            vars.put("eos_token", eosToken);
        }
        RenderResult result = jinjava.renderForResult(template, vars);
        List<TemplateError> failures = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL
                        || e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR)
                .toList();
        if (failures.isEmpty()) {
            return result.getOutput();
        }
        for (TemplateError failure : failures) {
            for (Throwable t = failure.getException(); t != null; t = t.getCause()) {
                if (t instanceof RaisedByTemplate raised) {
                    throw new ChatTemplateException("chat template from " + source + " raised an exception: "
                            + raised.getMessage());
                }
            }
        }
        String details = failures.stream()
                .map(e -> "line " + e.getLineno() + ": " + e.getMessage())
                .collect(Collectors.joining("; "));
        String hint = details.contains("Cannot find method")
                ? "; Jinjava runs Java's String methods, so Python-only ones such as startswith or upper "
                        + "are missing: use filters (upper, trim) or the 'in' operator instead"
                : "; fix the template";
        throw new ChatTemplateException("chat template from " + source + " failed to render: " + details + hint);
    }

    private static String chatTemplate(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            throw new ChatTemplateException(file + " has no chat_template; add one, e.g. "
                    + "\"chat_template\": ChatTemplate.CHATML");
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode entry : node) {
                String name = entry.path("name").asText();
                if ("default".equals(name) && entry.path("template").isTextual()) {
                    return entry.path("template").asText();
                }
                names.add(name);
            }
            throw new ChatTemplateException(file + " lists chat templates " + names
                    + " but none named \"default\"; add a {\"name\": \"default\", \"template\": ...} entry");
        }
        throw new ChatTemplateException(file + " has a chat_template of type " + node.getNodeType()
                + "; expected a string or a list of {\"name\", \"template\"} objects");
    }

    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        // transformers writes AddedToken objects as {"__type": "AddedToken", "content": ..., ...}.
        return node.isObject() ? node.path("content").asText(null) : node.asText();
    }

    /**
     * A Jinjava with Jinja2's semantics as transformers sets them up (also for other prompt templates, such
     * as a task's, so that they render as the chat template does).
     */
    public static Jinjava newEnvironment() {
        // Jinjava keeps several pre-Jinja2 behaviours unless told otherwise; the one that matters most is
        // that it ignores {{- and -}}, which every HF template relies on to strip its own layout.
        LegacyOverrides jinja2Semantics = LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true)
                .withUseNaturalOperatorPrecedence(true)
                .withEvaluateMapKeys(true)
                .withIterateOverMapKeys(true)
                .withKeepNullableLoopValues(true)
                .withUsePyishObjectMapper(true)
                .build();
        Jinjava jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(jinja2Semantics)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFilter(new PythonToJson());
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        return jinjava;
    }

    /** Backs the template function {@code raise_exception(message)}; Jinjava calls functions statically. */
    static String raiseException(Object message) {
        throw new RaisedByTemplate(String.valueOf(message));
    }

    /** Marks a failure the template asked for, so render() can report its message verbatim. */
    private static final class RaisedByTemplate extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RaisedByTemplate(String message) {
            super(message);
        }
    }

    /**
     * transformers' {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}:
     * Jinjava's own filter writes compact Jackson JSON ({@code {"a":1}}), which is not what models saw in training.
     */
    private static final class PythonToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            Object sortKeys = kwargs.get("sort_keys");
            return PythonJson.dumps(
                    var,
                    indent == null ? null : Integer.valueOf(indent.toString()),
                    sortKeys != null && Boolean.parseBoolean(sortKeys.toString()));
        }
    }

    /** transformers' {@code {% generation %}} marks assistant text for masks; rendering only needs its body. */
    private static final class GenerationTag implements Tag {
        private static final long serialVersionUID = 1L;

        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter));
            }
            return out.toString();
        }
    }
}
