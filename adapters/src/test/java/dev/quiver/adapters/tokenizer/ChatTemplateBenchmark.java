package dev.quiver.adapters.tokenizer;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints the p50 render time of Qwen3's published template for 10 messages and 3 tools (issue 16 asks for
 * it next to a decode step). Not a test, so timing never fails a build:
 * {@code java -cp adapters/target/classes:adapters/target/test-classes:$(cat cp.txt)
 * dev.quiver.adapters.tokenizer.ChatTemplateBenchmark}.
 */
public final class ChatTemplateBenchmark {
    private ChatTemplateBenchmark() {}

    public static void main(String[] args) throws Exception {
        ChatTemplate qwen3 = ChatTemplate.of(resource("templates/qwen3.jinja"), null, "<|im_end|>");
        List<Map<String, Object>> messages = new ArrayList<>();
        messages.add(message("system", "You are a helpful assistant."));
        for (int i = 0; i < 9; i++) {
            messages.add(message(i % 2 == 0 ? "user" : "assistant", "Message number " + i + " with some text in it."));
        }
        List<Map<String, Object>> tools = new ArrayList<>();
        for (String name : List.of("get_weather", "search_docs", "create_ticket")) {
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("type", "object");
            parameters.put("properties", Map.of("query", Map.of("type", "string", "description", "What to look up")));
            parameters.put("required", List.of("query"));
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", name);
            function.put("description", "Calls " + name + ".");
            function.put("parameters", parameters);
            tools.add(new LinkedHashMap<>(Map.of("type", "function", "function", function)));
        }
        for (int i = 0; i < 5000; i++) {
            qwen3.render(messages, tools, true);
        }
        long[] nanos = new long[5000];
        for (int i = 0; i < nanos.length; i++) {
            long start = System.nanoTime();
            qwen3.render(messages, tools, true);
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        System.out.printf("qwen3, 10 messages, 3 tools: p50 %.1f us, p99 %.1f us%n",
                nanos[nanos.length / 2] / 1e3, nanos[nanos.length * 99 / 100] / 1e3);
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    private static String resource(String name) throws Exception {
        try (InputStream in = ChatTemplateBenchmark.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
