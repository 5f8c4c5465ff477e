package dev.quiver.tasks;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.tokenizer.jinja.RaisedException;
import dev.quiver.adapters.tokenizer.jinja.Template;
import dev.quiver.adapters.tokenizer.jinja.TemplateException;
import dev.quiver.http.ApiException;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a task's Jinja templates (with the chat templates' Jinja2 semantics) into the chat messages of
 * one call: an optional system message, then the user message. The input's top-level fields are
 * variables, and the whole input is {@code input}: {@code "Ticket: {{ ticket }}"} or
 * {@code "{{ input | tojson }}"}. The model's own chat template then applies as for chat completions.
 */
@Singleton
public class PromptTemplates {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Rejects a template that does not parse; a 400 naming {@code field}. */
    public void check(String field, String template) {
        try {
            Template.parse(template);
        } catch (TemplateException e) {
            throw ApiException.invalid(field, field + " is not a valid Jinja template: " + e.getMessage());
        }
    }

    /** The messages for one call with {@code input} (a JSON object already valid for the task). */
    public List<Map<String, Object>> messages(TaskDefinition task, JsonNode input) {
        Map<String, Object> fields = JSON.convertValue(input, new TypeReference<LinkedHashMap<String, Object>>() {
        });
        Map<String, Object> vars = new HashMap<>(fields);
        vars.put("input", fields);
        List<Map<String, Object>> messages = new ArrayList<>();
        if (task.systemPrompt() != null && !task.systemPrompt().isBlank()) {
            messages.add(message("system", render("system_prompt", task.systemPrompt(), vars)));
        }
        messages.add(message("user", render("prompt_template", task.promptTemplate(), vars)));
        return messages;
    }

    private String render(String field, String template, Map<String, Object> vars) {
        try {
            return Template.parse(template).render(vars).strip();
        } catch (TemplateException | RaisedException e) {
            throw ApiException.invalid("input", "the task's " + field + " failed to render for this input: "
                    + e.getMessage());
        }
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
