package dev.quiver.evals;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import dev.quiver.tasks.TaskOutputs;
import dev.quiver.tasks.JsonSchemas;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The eval metrics on object outputs: a score per field of the output schema, and their mean. */
class EvalScoresTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void scoresEachFieldOfObjectOutputsAgainstTheReference() throws IOException {
        JsonNode schema = JSON.readTree("""
                {"type": "object", "properties": {"queue": {"type": "string"}, "priority": {"type": "integer"},
                 "refund": {"type": "boolean"}}, "required": ["queue"]}""");
        List<String[]> answers = List.of(
                // right on every field, but spelled differently: agreement without exact match
                pair("{\"queue\":\"billing\",\"priority\":2,\"refund\":true}",
                        "{\"refund\": true, \"queue\": \"billing\", \"priority\": 2}"),
                // queue right, priority and refund wrong
                pair("{\"queue\":\"billing\",\"priority\":1,\"refund\":false}",
                        "{\"queue\":\"billing\",\"priority\":3,\"refund\":true}"),
                // queue and refund right, priority missing from the answer
                pair("{\"queue\":\"shipping\",\"priority\":1,\"refund\":false}",
                        "{\"queue\":\"shipping\",\"refund\":false}"),
                // not an output at all: every field wrong, not schema-valid
                pair("{\"queue\":\"account\",\"priority\":1,\"refund\":false}", "no idea"));

        Map<String, Object> m = EvalScores.metrics(scored(schema, answers), schema, "file");

        assertThat(m.get("examples")).isEqualTo(4);
        assertThat(m.get("exact_match")).isEqualTo(0.0);
        assertThat(m.get("agreement")).isEqualTo(0.25);
        assertThat(m.get("field_match_by_field")).isEqualTo(Map.of("queue", 0.75, "priority", 0.25, "refund", 0.5));
        assertThat((double) m.get("field_match")).isCloseTo((0.75 + 0.25 + 0.5) / 3, org.assertj.core.data.Offset
                .offset(1e-12));
    }

    @Test
    void outputsWithoutAnObjectSchemaHaveNoFieldMatch() throws IOException {
        JsonNode schema = JSON.readTree("{\"type\": \"string\", \"enum\": [\"billing\", \"shipping\"]}");
        Map<String, Object> m = EvalScores.metrics(List.of(new EvalScores.Scored(new EvalCase(1,
                JSON.createArrayNode(), "billing", JSON.valueToTree("billing")), "billing",
                Optional.of(JSON.valueToTree("billing")), 1.0, 3, 1)), schema, "upstream");

        assertThat(m).doesNotContainKeys("field_match", "field_match_by_field").containsEntry("exact_match", 1.0)
                .containsEntry("reference", "upstream");
    }

    private static String[] pair(String reference, String answer) {
        return new String[] {reference, answer};
    }

    /** Each (reference, answer) scored: the answer read as the task's output the way evals read it. */
    private static List<EvalScores.Scored> scored(JsonNode schema, List<String[]> answers) throws IOException {
        TaskOutputs outputs = new TaskOutputs(new JsonSchemas());
        List<EvalScores.Scored> scored = new java.util.ArrayList<>();
        for (String[] a : answers) {
            scored.add(new EvalScores.Scored(new EvalCase(1, JSON.createArrayNode(), a[0], JSON.readTree(a[0])), a[1],
                    outputs.read(schema, a[1]), 1.0, 10, 5));
        }
        return scored;
    }
}
