package dev.quiver.serving.http.toolcalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.http.ApiException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** tool_choice and tools checks, and which requests have their answers parsed. */
class ToolRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOOLS = "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"parameters\": {\"type\": \"object\"}}}]";
    private static final Optional<ToolCallParser> HERMES = Optional.of(new HermesToolCallParser());

    @Test
    void autoIsTheDefaultAndParsesCalls() throws Exception {
        assertThat(ToolRequest.read(body("{" + TOOLS + "}"), HERMES).parser()).isInstanceOf(HermesToolCallParser.class);
        assertThat(ToolRequest.read(body("{" + TOOLS + ", \"tool_choice\": \"auto\"}"), HERMES).parser()).isNotNull();
    }

    @Test
    void noneStillRendersTheToolsButLeavesTheAnswerAsContent() throws Exception {
        ToolRequest r = ToolRequest.read(body("{" + TOOLS + ", \"tool_choice\": \"none\"}"), HERMES);
        assertThat(r.tools()).hasSize(1);
        assertThat(r.parser()).isNull();
    }

    @Test
    void withoutToolsOrAKnownFormatNothingIsParsed() throws Exception {
        assertThat(ToolRequest.read(body("{}"), HERMES)).isEqualTo(new ToolRequest(null, null, null));
        assertThat(ToolRequest.read(body("{\"tools\": []}"), HERMES).parser()).isNull();
        assertThat(ToolRequest.read(body("{" + TOOLS + "}"), Optional.empty()).parser()).isNull();
    }

    @Test
    void requiredForcesACallToAnyToolAndANamedChoiceToThatOne() throws Exception {
        String two = "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
                + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}},"
                + " {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}]";
        ToolRequest required = ToolRequest.read(body("{" + two + ", \"tool_choice\": \"required\"}"), HERMES);
        assertThat(required.parser()).isInstanceOf(HermesToolCallParser.class);
        assertThat(required.forced().path("anyOf").findValuesAsText("const")).containsExactly("get_weather",
                "get_time");
        ToolRequest named = ToolRequest.read(body("{" + two + ", \"tool_choice\": {\"type\": \"function\","
                + " \"function\": {\"name\": \"get_weather\"}}}"), HERMES);
        assertThat(named.forced().path("properties").path("name").path("const").asText()).isEqualTo("get_weather");
        assertThat(named.forced().path("properties").path("arguments").path("properties").has("city")).isTrue();
        assertThat(named.forced().path("required")).hasSize(2);
        assertThat(ToolRequest.read(body("{" + two + "}"), HERMES).forced()).as("auto forces nothing").isNull();
    }

    @Test
    void aForcedCallNeedsTheNamedToolAndAKnownFormat() throws Exception {
        assertThat(param("{" + TOOLS + ", \"tool_choice\": {\"type\": \"function\", \"function\":"
                + " {\"name\": \"nope\"}}}")).isEqualTo("tool_choice.function.name");
        assertThat(param("{\"tool_choice\": \"required\"}")).isEqualTo("tool_choice");
        ApiException unknown = catchThrowableOfType(() -> ToolRequest.read(body("{" + TOOLS
                + ", \"tool_choice\": \"required\"}"), Optional.empty()), ApiException.class);
        assertThat(unknown.param()).isEqualTo("tool_choice");
        assertThat(unknown.getMessage()).contains("no tool-call format");
    }

    @Test
    void badValuesAreNamed() throws Exception {
        assertThat(param("{" + TOOLS + ", \"tool_choice\": \"sometimes\"}")).isEqualTo("tool_choice");
        assertThat(param("{\"tools\": {}}")).isEqualTo("tools");
        assertThat(param("{\"tools\": [{\"type\": \"code_interpreter\"}]}")).isEqualTo("tools[0]");
        assertThat(param("{\"tools\": [{\"type\": \"function\", \"function\": {}}]}"))
                .isEqualTo("tools[0].function.name");
    }

    @Test
    void theFormatIsReadFromTheTemplate() {
        assertThat(ToolCallFormats.forTemplate("... <tool_call>\n{\"name\": ...")).get()
                .isInstanceOf(HermesToolCallParser.class);
        assertThat(ToolCallFormats.forTemplate("{\"name\": function name, \"parameters\": dictionary}")).get()
                .isInstanceOf(Llama3JsonToolCallParser.class);
        assertThat(ToolCallFormats.forTemplate("[AVAILABLE_TOOLS] ... [TOOL_CALLS]")).isEmpty();
    }

    private static String param(String json) throws Exception {
        return catchThrowableOfType(() -> ToolRequest.read(body(json), HERMES), ApiException.class).param();
    }

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }
}
