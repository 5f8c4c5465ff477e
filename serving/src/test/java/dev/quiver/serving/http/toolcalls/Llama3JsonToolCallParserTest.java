package dev.quiver.serving.http.toolcalls;

import static dev.quiver.serving.http.toolcalls.HermesToolCallParserTest.content;
import static dev.quiver.serving.http.toolcalls.HermesToolCallParserTest.feed;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Llama 3.x JSON tool calls: the whole answer is the call, optionally after {@code <|python_tag|>}. */
class Llama3JsonToolCallParserTest {
    private final Llama3JsonToolCallParser parser = new Llama3JsonToolCallParser();

    @Test
    void theWholeAnswerAsJsonIsACall() {
        ParsedAnswer a = parser.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
        assertThat(a.content()).isNull();
        assertThat(a.calls()).extracting(ToolCall::name, ToolCall::arguments)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("get_weather", "{\"city\":\"Paris\"}"));
    }

    @Test
    void aPythonTagBeforeTheJsonIsDropped() {
        ParsedAnswer a = parser.parse("<|python_tag|>{\"name\": \"get_time\", \"parameters\": {}}");
        assertThat(a.calls()).extracting(ToolCall::name).containsExactly("get_time");
        assertThat(a.content()).isNull();
    }

    @Test
    void callsSeparatedBySemicolonsAreEachACall() {
        ParsedAnswer a = parser.parse("{\"name\": \"a\", \"parameters\": {\"s\": \"x; y\"}}; {\"name\": \"b\","
                + " \"parameters\": {}}");
        assertThat(a.calls()).extracting(ToolCall::name).containsExactly("a", "b");
        assertThat(a.calls().get(0).arguments()).isEqualTo("{\"s\":\"x; y\"}");
    }

    @Test
    void jsonThatIsNotACallOrProseIsContent() {
        for (String answer : List.of("{\"answer\": 42}", "{\"name\": \"a\", \"parameters\": {}} and more",
                "The weather is fine.", "{\"name\": \"a\", \"parameters\": {")) {
            assertThat(parser.parse(answer)).as(answer).isEqualTo(new ParsedAnswer(answer, List.of()));
        }
    }

    @Test
    void streamingReleasesProseAtOnceAndHoldsAJsonAnswerToTheEnd() {
        ToolCallStream prose = parser.stream();
        assertThat(content(prose.add("  "))).isEmpty();
        assertThat(content(prose.add("The"))).isEqualTo("  The");
        assertThat(content(prose.add(" end"))).isEqualTo(" end");

        ToolCallStream call = parser.stream();
        assertThat(call.add("<|python")).isEmpty();
        assertThat(call.add("_tag|>{\"name\": \"get_")).isEmpty();
        assertThat(call.add("weather\", \"parameters\": {\"city\": \"Pa")).isEmpty();
        List<ToolCallEvent> end = feed(call, "ris\"}}");
        assertThat(end).hasSize(1);
        assertThat(((ToolCallEvent.Call) end.get(0)).call().arguments()).isEqualTo("{\"city\":\"Paris\"}");
    }

    @Test
    void aPrefixOfThePythonTagThatIsNotOneIsContent() {
        assertThat(content(feed(parser.stream(), "<|py", "rate|> ahoy"))).isEqualTo("<|pyrate|> ahoy");
    }
}
