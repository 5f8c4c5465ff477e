package dev.quiver.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import org.junit.jupiter.api.Test;

class TaskOutputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TaskOutputs outputs = new TaskOutputs(new JsonSchemas());

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void readsJsonInsideACodeFenceWhenTheSchemaAcceptsIt() throws Exception {
        JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"}},"
                + "\"required\":[\"label\"]}");
        TaskOutputs.Reading reading = outputs.reading(schema, "```json\n{\"label\": \"refund\"}\n```\n");
        assertThat(reading.output()).contains(json("{\"label\":\"refund\"}"));
        assertThat(reading.violations()).isEmpty();
    }

    @Test
    void textThatIsNotJsonIsAStringOutput() throws Exception {
        JsonNode schema = json("{\"type\":\"string\",\"enum\":[\"spam\",\"ham\"]}");
        assertThat(outputs.read(schema, " spam\n")).contains(TextNode.valueOf("spam"));
        // "null" parses as JSON, which the schema rejects; as text it is not in the enum either
        assertThat(outputs.read(schema, "null")).isEmpty();
    }

    @Test
    void anInvalidAnswerReportsTheViolationsOfItsJsonReading() throws Exception {
        JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
                + "\"required\":[\"n\"]}");
        TaskOutputs.Reading reading = outputs.reading(schema, "{\"n\": \"three\"}");
        assertThat(reading.output()).isEmpty();
        assertThat(JsonSchemas.join(reading.violations())).contains("output.n");
        // text that does not parse is judged as a string
        TaskOutputs.Reading text = outputs.reading(schema, "three");
        assertThat(text.output()).isEmpty();
        assertThat(text.violations()).isNotEmpty();
    }

    @Test
    void withoutASchemaTheAnswerIsItsText() {
        assertThat(outputs.read(null, "```\nanything { at all\n```")).contains(TextNode.valueOf("anything { at all"));
    }
}
