package dev.quiver.adapters.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * What {@code apply_chat_template} receives: messages, tools and documents (null when absent, as in
 * transformers), the generation-prompt and continue-final-message switches, and extra template variables
 * ({@code chat_template_kwargs} such as {@code enable_thinking}).
 */
public record ChatInput(
        List<Map<String, Object>> messages,
        List<Map<String, Object>> tools,
        List<Map<String, Object>> documents,
        boolean addGenerationPrompt,
        boolean continueFinalMessage,
        Map<String, Object> kwargs) {

    public ChatInput {
        if (addGenerationPrompt && continueFinalMessage) {
            throw new ChatTemplateException("add_generation_prompt and continue_final_message cannot both be set: "
                    + "one opens a new assistant turn, the other continues the last message");
        }
        kwargs = kwargs == null ? Map.of() : kwargs;
    }
}
