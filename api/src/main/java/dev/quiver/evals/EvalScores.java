package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.core.annotation.Nullable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Scores answers against references: {@code exact_match} (the text, trimmed), {@code schema_validity} (the
 * answer is a valid output), {@code agreement} (the answer means the same output as the reference: the
 * upstream's, for a held-out file built from captures) and, for object outputs, {@code field_match} per field
 * and on average.
 */
final class EvalScores {
    /** One scored example. */
    record Scored(EvalCase example, String answer, Optional<JsonNode> output, double latencyMs, int promptTokens,
                  int completionTokens) {
    }

    private EvalScores() {
    }

    static Map<String, Object> metrics(List<Scored> scored, @Nullable JsonNode outputSchema, String reference) {
        int n = scored.size();
        int exact = 0;
        int valid = 0;
        int agree = 0;
        List<Double> latencies = new ArrayList<>();
        long in = 0;
        long out = 0;
        for (Scored s : scored) {
            exact += s.answer().strip().equals(s.example().reference().strip()) ? 1 : 0;
            valid += s.output().isPresent() ? 1 : 0;
            agree += s.output().filter(o -> o.equals(s.example().expected())).isPresent() ? 1 : 0;
            latencies.add(s.latencyMs());
            in += s.promptTokens();
            out += s.completionTokens();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("examples", n);
        m.put("reference", reference);
        m.put("exact_match", ratio(exact, n));
        m.put("agreement", ratio(agree, n));
        m.put("schema_validity", ratio(valid, n));
        if (outputSchema != null && outputSchema.path("properties").isObject()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            double sum = 0;
            for (Iterator<String> it = outputSchema.get("properties").fieldNames(); it.hasNext(); ) {
                String field = it.next();
                int same = 0;
                for (Scored s : scored) {
                    JsonNode want = s.example().expected().path(field);
                    same += s.output().filter(o -> o.path(field).equals(want)).isPresent() ? 1 : 0;
                }
                fields.put(field, ratio(same, n));
                sum += ratio(same, n);
            }
            m.put("field_match", fields.isEmpty() ? 0.0 : sum / fields.size());
            m.put("field_match_by_field", fields);
        }
        latencies.sort(Double::compare);
        m.put("latency_ms_p50", latencies.isEmpty() ? 0.0 : latencies.get(latencies.size() / 2));
        m.put("tokens_in", in);
        m.put("tokens_out", out);
        return m;
    }

    private static double ratio(int k, int n) {
        return n == 0 ? 0 : (double) k / n;
    }
}
