package dev.quiver.serving.http.toolcalls;

import java.util.Optional;

/** Picks the tool-call format a model answers in from its chat template, the one place that spells it. */
public final class ToolCallFormats {
    private ToolCallFormats() {
    }

    /**
     * Qwen, Hermes and SmolLM3 templates tell the model to wrap calls in {@code <tool_call>}; Llama 3.x
     * templates ask for {@code {"name": ..., "parameters": ...}} (3.1 also names {@code <|python_tag|>}).
     * Other templates (Mistral's {@code [TOOL_CALLS]}, Gemma) have no parser yet: their answers stay content.
     */
    public static Optional<ToolCallParser> forTemplate(String template) {
        if (template.contains(HermesToolCallParser.OPEN)) {
            return Optional.of(new HermesToolCallParser());
        }
        if (template.contains(Llama3JsonToolCallParser.PYTHON_TAG) || template.contains("\"parameters\"")) {
            return Optional.of(new Llama3JsonToolCallParser());
        }
        return Optional.empty();
    }
}
