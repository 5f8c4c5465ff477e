package dev.quiver.serving.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.constraint.Constraints;
import dev.quiver.serving.constraint.TokenVocabulary;
import java.io.IOException;
import java.util.List;

/**
 * The schemas the serve benchmark decodes and compiles under: the realistic one the issue names (an enum, a
 * string with maxLength, an integer, an array of up to 3 strings) and a large one (30 properties, nested).
 * Public so that the compiler's stage timing (serving's test sources) times the very same schemas.
 */
public final class ConstraintBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int COMPILES = 9;

    private ConstraintBenchmark() {
    }

    public static JsonNode realistic() {
        try {
            return JSON.readTree("""
                    {"type": "object", "properties": {
                      "team": {"enum": ["billing", "tech", "sales", "legal"]},
                      "summary": {"type": "string", "maxLength": 40},
                      "priority": {"type": "integer"},
                      "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}},
                     "required": ["team", "summary", "priority", "tags"], "additionalProperties": false}""");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** 30 properties of every kind, a third of them nested objects with their own enum, string and array. */
    public static JsonNode large() {
        ObjectNode schema = JSON.createObjectNode().put("type", "object").put("additionalProperties", false);
        ObjectNode properties = schema.putObject("properties");
        ArrayNode required = schema.putArray("required");
        for (int i = 0; i < 30; i++) {
            String name = "field_" + i;
            switch (i % 6) {
                case 0 -> properties.putObject(name).put("type", "string").put("maxLength", 24);
                case 1 -> properties.putObject(name).put("type", "integer");
                case 2 -> properties.putObject(name).set("enum", JSON.valueToTree(List.of("a", "b", "c")));
                case 3 -> properties.putObject(name).put("type", "string").put("format", "date");
                case 4 -> properties.set(name, realistic());
                default -> properties.putObject(name).put("type", "array").put("maxItems", 4)
                        .putObject("items").put("type", "number");
            }
            if (i % 2 == 0) {
                required.add(name);
            }
        }
        return schema;
    }

    /** Median milliseconds to compile {@code schema} afresh (no cache) over {@code vocabulary}. */
    static double compileMillisP50(JsonNode schema, TokenVocabulary vocabulary) {
        long[] nanos = new long[COMPILES];
        for (int i = 0; i < COMPILES; i++) {
            long t0 = System.nanoTime();
            new Constraints(vocabulary).schema(schema, "schema");
            nanos[i] = System.nanoTime() - t0;
        }
        return LatencyStats.ofNanos(nanos).percentile(50);
    }
}
