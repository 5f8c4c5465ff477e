package dev.quiver.serving.http.toolcalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Qwen/Hermes {@code <tool_call>} answers, as Qwen3 writes them, whole and split into awkward tokens. */
class HermesToolCallParserTest {
    private final HermesToolCallParser parser = new HermesToolCallParser();

    @Test
    void oneCallBecomesAToolCallWithNoContent() {
        ParsedAnswer a = parser.parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
                + " \"unit\": \"celsius\"}}\n</tool_call>");
        assertThat(a.content()).isNull();
        assertThat(a.calls()).hasSize(1);
        assertThat(a.calls().get(0).name()).isEqualTo("get_weather");
        assertThat(a.calls().get(0).arguments()).isEqualTo("{\"city\":\"Paris\",\"unit\":\"celsius\"}");
        assertThat(a.calls().get(0).id()).matches("call_[0-9a-f]{24}");
    }

    @Test
    void twoCallsKeepTheirOrderAndGetDistinctIds() {
        ParsedAnswer a = parser.parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"
                + "\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>");
        assertThat(a.calls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(a.calls()).extracting(ToolCall::arguments).containsExactly("{\"city\":\"Paris\"}", "{\"zone\":\"CET\"}");
        assertThat(a.calls().get(0).id()).isNotEqualTo(a.calls().get(1).id());
        assertThat(a.content()).isNull();
    }

    @Test
    void textBeforeAndAfterTheCallIsContentWithoutTheLayoutWhitespace() {
        ParsedAnswer a = parser.parse("<think>\nThe user wants the weather.\n</think>\n\nLet me check.\n"
                + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\nOne moment.");
        assertThat(a.content()).isEqualTo("<think>\nThe user wants the weather.\n</think>\n\nLet me check.One moment.");
        assertThat(a.calls()).hasSize(1);
        assertThat(a.calls().get(0).arguments()).isEqualTo("{}");
    }

    @Test
    void malformedJsonInsideTheTagsIsReturnedAsTextVerbatim() {
        String answer = "Calling.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call>";
        ParsedAnswer a = parser.parse(answer);
        assertThat(a.calls()).isEmpty();
        assertThat(a.content()).isEqualTo(answer);
    }

    @Test
    void aMalformedBlockBesideAGoodOneStaysTextAndTheGoodOneIsACall() {
        ParsedAnswer a = parser.parse("<tool_call>\n[1, 2]\n</tool_call>\n<tool_call>\n{\"name\": \"f\","
                + " \"arguments\": {\"x\": 1}}\n</tool_call>");
        assertThat(a.content()).isEqualTo("<tool_call>\n[1, 2]\n</tool_call>");
        assertThat(a.calls()).extracting(ToolCall::name).containsExactly("f");
    }

    @Test
    void aCallCutOffByMaxTokensIsText() {
        String answer = "<tool_call>\n{\"name\": \"get_weather\", \"argu";
        assertThat(parser.parse(answer).content()).isEqualTo(answer);
        assertThat(parser.parse(answer).calls()).isEmpty();
    }

    @Test
    void stringArgumentsArePassedThroughAsTheJsonString() {
        ParsedAnswer a = parser.parse("<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>");
        assertThat(a.calls().get(0).arguments()).isEqualTo("{\"x\": 1}");
    }

    @Test
    void anAnswerWithoutCallsIsUnchanged() {
        String answer = "Paris is sunny. Use <b>tags</b> < and > freely.\n";
        assertThat(parser.parse(answer)).isEqualTo(new ParsedAnswer(answer, List.of()));
    }

    @Test
    void streamingHoldsBackATagSplitAcrossTokensSoNoTagTextLeaks() {
        List<ToolCallEvent> events = feed(parser.stream(), "Let me", " check.", "\n", "<", "tool", "_c", "all",
                ">\n{\"na", "me\": \"get_", "weather\", \"argum", "ents\": {\"ci", "ty\": \"Pa", "ris\"}", "}\n</",
                "tool_call", ">", "\n");
        assertThat(content(events)).isEqualTo("Let me check.");
        assertThat(events).filteredOn(e -> e instanceof ToolCallEvent.Call).hasSize(1);
        ToolCall call = ((ToolCallEvent.Call) events.get(events.size() - 1)).call();
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content c) {
                assertThat(c.text()).doesNotContain("<").doesNotContain("tool");
            }
        }
    }

    @Test
    void streamingReleasesTextAsSoonAsItCannotBeATag() {
        ToolCallStream stream = parser.stream();
        assertThat(content(stream.add("a <to"))).isEqualTo("a");
        assertThat(content(stream.add("p> b"))).isEqualTo(" <top> b");
        assertThat(content(stream.finish())).isEmpty();
    }

    @Test
    void streamingSplitsEveryAnswerAsTheWholeAnswerIsSplit() {
        String answer = "Sure.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"q\": \"<tool_call> in a string\"}}"
                + "\n</tool_call>\n<tool_call>\n{bad}\n</tool_call> done\n<tool_call>{\"name\": \"b\"";
        ParsedAnswer whole = parser.parse(answer);
        for (int step = 1; step <= 7; step++) {
            List<String> pieces = new ArrayList<>();
            for (int i = 0; i < answer.length(); i += step) {
                pieces.add(answer.substring(i, Math.min(answer.length(), i + step)));
            }
            ParsedAnswer streamed = ParsedAnswer.of(feed(parser.stream(), pieces.toArray(String[]::new)));
            assertThat(streamed.content()).as("step %d", step).isEqualTo(whole.content());
            assertThat(streamed.calls()).extracting(ToolCall::name, ToolCall::arguments)
                    .as("step %d", step).containsExactlyElementsOf(whole.calls().stream()
                            .map(c -> org.assertj.core.groups.Tuple.tuple(c.name(), c.arguments())).toList());
        }
        assertThat(whole.calls()).extracting(ToolCall::name).containsExactly("a");
        assertThat(whole.content()).isEqualTo("Sure.<tool_call>\n{bad}\n</tool_call> done\n<tool_call>{\"name\": \"b\"");
    }

    static List<ToolCallEvent> feed(ToolCallStream stream, String... pieces) {
        List<ToolCallEvent> events = new ArrayList<>();
        for (String p : pieces) {
            events.addAll(stream.add(p));
        }
        events.addAll(stream.finish());
        return events;
    }

    static String content(List<ToolCallEvent> events) {
        StringBuilder text = new StringBuilder();
        events.forEach(e -> {
            if (e instanceof ToolCallEvent.Content c) {
                text.append(c.text());
            }
        });
        return text.toString();
    }
}
