package dev.quiver.promotion;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.http.ApiException;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** The JSON shapes of a task's promotion policy and of a manual promote. */
public final class PromotionViews {
    /** The metrics a policy can gate on (what every eval reports; field_match for object outputs only). */
    public static final List<String> METRICS = List.of("agreement", "exact_match", "schema_validity", "field_match");
    private static final Set<String> FIELDS = Set.of("metric", "min_score", "eval_file", "not_worse_than_current");

    private PromotionViews() {
    }

    /** {@code PUT /v1/tasks/{name}/promotion}, and how it shows. */
    @Serdeable
    public record Policy(String metric, double minScore, String evalFile, boolean notWorseThanCurrent) {

        public static Policy parse(JsonNode body) {
            for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!FIELDS.contains(field)) {
                    throw ApiException.invalid(field, "unknown field '" + field + "'; a promotion policy has " + FIELDS);
                }
            }
            String metric = body.path("metric").asText("agreement");
            if (!METRICS.contains(metric)) {
                throw ApiException.invalid("metric", "metric must be one of " + METRICS + ", got '" + metric + "'");
            }
            JsonNode min = body.get("min_score");
            if (min == null || !min.isNumber() || min.asDouble() < 0 || min.asDouble() > 1) {
                throw ApiException.invalid("min_score", "min_score is required: the lowest score (0 to 1) on the metric"
                        + " at which a new adapter may take over the task");
            }
            JsonNode file = body.get("eval_file");
            if (file == null || !file.isTextual() || file.asText().isBlank()) {
                throw ApiException.invalid("eval_file", "eval_file is required: the held-out file new adapters are"
                        + " evaluated on (a dataset's heldout_file)");
            }
            JsonNode notWorse = body.path("not_worse_than_current");
            if (!notWorse.isMissingNode() && !notWorse.isBoolean()) {
                throw ApiException.invalid("not_worse_than_current", "not_worse_than_current must be true or false");
            }
            return new Policy(metric, min.asDouble(), file.asText(), notWorse.isMissingNode() || notWorse.asBoolean());
        }
    }

    /** A task's policy as the API shows it. */
    @Serdeable
    public record PolicyView(String object, String task, String metric, double minScore, String evalFile,
                             boolean notWorseThanCurrent, long updatedAt) {
    }
}
