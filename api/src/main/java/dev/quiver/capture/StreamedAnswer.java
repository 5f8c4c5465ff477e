package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Assembles a streamed chat completion (server-sent {@code chat.completion.chunk} events) into the non-streamed shape. */
final class StreamedAnswer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private StreamedAnswer() {
    }

    /** The answer as {@code {"model", "choices": [{"message": {"content"}}], "usage"}}; content from choice 0. */
    static JsonNode assemble(byte[] events) {
        StringBuilder content = new StringBuilder();
        ObjectNode answer = JSON.createObjectNode();
        for (String line : new String(events, StandardCharsets.UTF_8).split("\n")) {
            if (!line.startsWith("data:")) {
                continue;
            }
            String data = line.substring(5).trim();
            if (data.equals("[DONE]")) {
                continue;
            }
            JsonNode chunk;
            try {
                chunk = JSON.readTree(data);
            } catch (IOException e) {
                continue; // a malformed event is the caller's to see; the record keeps what parsed
            }
            if (chunk.hasNonNull("model")) {
                answer.put("model", chunk.get("model").asText());
            }
            for (JsonNode choice : chunk.path("choices")) {
                if (choice.path("index").asInt(0) == 0) {
                    content.append(choice.path("delta").path("content").asText(""));
                }
            }
            if (chunk.path("usage").isObject()) {
                answer.set("usage", chunk.get("usage"));
            }
        }
        answer.putArray("choices").addObject().putObject("message").put("content", content.toString());
        return answer;
    }
}
