package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.http.toolcalls.HermesToolCallParser;
import dev.quiver.serving.http.toolcalls.ToolCallParser;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.FinishReason;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** OpenAI's response and stream shapes for an answer that calls a tool, assembled from a fixed completion. */
class ToolCallResponseTest {
    private static final String ANSWER = "I'll look it up.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
            + " {\"city\": \"Paris\"}}\n</tool_call>";
    private static final List<String> TOKENS = List.of("I'll", " look", " it", " up.", "\n", "<tool_call>", "\n{\"",
            "name", "\":", " \"get", "_weather", "\",", " \"arguments", "\":", " {\"", "city", "\":", " \"Paris",
            "\"}}", "\n", "</tool_call>");

    private final ResponseWriter writer = new ResponseWriter(null, true, "chatcmpl-test", 1, "qwen3");

    @Test
    void aCallingAnswerIsReturnedAsToolCallsWithFinishReasonToolCalls() {
        assertThat(String.join("", TOKENS)).isEqualTo(ANSWER);
        JsonNode choice = writer.complete(plan(new HermesToolCallParser()), List.of(completion())).path("choices").get(0);
        JsonNode message = choice.path("message");
        assertThat(message.path("role").asText()).isEqualTo("assistant");
        assertThat(message.path("content").asText()).isEqualTo("I'll look it up.");
        JsonNode call = message.path("tool_calls").get(0);
        assertThat(call.path("id").asText()).startsWith("call_");
        assertThat(call.path("type").asText()).isEqualTo("function");
        assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(call.path("function").path("arguments").isTextual()).isTrue();
        assertThat(call.path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void withoutAParserTheSameAnswerIsPlainContent() {
        JsonNode choice = writer.complete(plan(null), List.of(completion())).path("choices").get(0);
        assertThat(choice.path("message").path("content").asText()).isEqualTo(ANSWER);
        assertThat(choice.path("message").has("tool_calls")).isFalse();
        assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void aStreamedCallArrivesAsIdAndNameThenArgumentsAndNoTagTextLeaksIntoContent() {
        ChoiceChunks chunks = new ChoiceChunks(writer, 0, plan(new HermesToolCallParser()));
        List<ObjectNode> out = new ArrayList<>();
        for (String t : TOKENS) {
            out.addAll(chunks.token(new GeneratedToken(1, t, Double.NaN, List.of())));
        }
        out.addAll(chunks.complete(completion()));

        StringBuilder content = new StringBuilder();
        List<JsonNode> callDeltas = new ArrayList<>();
        for (ObjectNode chunk : out) {
            assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
            JsonNode delta = chunk.path("choices").get(0).path("delta");
            content.append(delta.path("content").asText(""));
            delta.path("tool_calls").forEach(callDeltas::add);
        }
        assertThat(content.toString()).isEqualTo("I'll look it up.");
        assertThat(callDeltas).hasSize(2);
        JsonNode head = callDeltas.get(0);
        assertThat(head.path("index").asInt()).isZero();
        assertThat(head.path("id").asText()).startsWith("call_");
        assertThat(head.path("type").asText()).isEqualTo("function");
        assertThat(head.path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(callDeltas.get(1).path("index").asInt()).isZero();
        assertThat(callDeltas.get(1).has("id")).isFalse();
        assertThat(head.path("function").path("arguments").asText()
                + callDeltas.get(1).path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
        JsonNode last = out.get(out.size() - 1).path("choices").get(0);
        assertThat(last.path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(last.path("delta").isEmpty()).isTrue();
    }

    private static GenerationPlan plan(ToolCallParser parser) {
        return new GenerationPlan("qwen3", null, new int[] {1, 2, 3}, "", 1, SamplingParams.greedy(64), false, false,
                -1, parser, null);
    }

    private static Completion completion() {
        return new Completion(new int[TOKENS.size()], ANSWER, FinishReason.STOP, 3, List.of(), "");
    }
}
