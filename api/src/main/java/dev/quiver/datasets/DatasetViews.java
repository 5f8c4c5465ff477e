package dev.quiver.datasets;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.Iterator;
import java.util.Set;

/** The JSON shapes of {@code /v1/tasks/{name}/datasets}. */
public final class DatasetViews {
    private static final Set<String> FIELDS = Set.of("since", "until", "heldout_fraction", "seed");

    private DatasetViews() {
    }

    /** {@code POST /v1/tasks/{name}/datasets}: a window (epoch seconds, both optional), the held-out share and seed. */
    public record Build(@Nullable Instant since, @Nullable Instant until, double heldoutFraction, long seed) {

        public static Build parse(JsonNode body) {
            for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!FIELDS.contains(field)) {
                    throw ApiException.invalid(field, "unknown field '" + field + "'; a dataset request has " + FIELDS);
                }
            }
            double fraction = body.path("heldout_fraction").asDouble(0.2);
            if (body.has("heldout_fraction") && (!body.get("heldout_fraction").isNumber() || fraction <= 0
                    || fraction >= 1)) {
                throw ApiException.invalid("heldout_fraction", "heldout_fraction must be a number between 0 and 1"
                        + " (exclusive), e.g. 0.2");
            }
            if (body.has("seed") && !body.get("seed").isIntegralNumber()) {
                throw ApiException.invalid("seed", "seed must be an integer");
            }
            Instant since = time(body, "since");
            Instant until = time(body, "until");
            if (since != null && until != null && !since.isBefore(until)) {
                throw ApiException.invalid("until", "until must be after since");
            }
            return new Build(since, until, fraction, body.path("seed").asLong(0));
        }

        private static Instant time(JsonNode body, String field) {
            JsonNode v = body.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isIntegralNumber()) {
                throw ApiException.invalid(field, field + " must be a time in epoch seconds");
            }
            return Instant.ofEpochSecond(v.asLong());
        }
    }

    /** What a build kept and dropped. */
    @Serdeable
    public record Statistics(int captured, int escalated, int failed, int invalidOutput, int exactDuplicates,
                             int nearDuplicates, int groups, int trainingExamples, int heldoutExamples) {
    }

    /** A dataset: its two files and the statistics. */
    @Serdeable
    public record DatasetView(String id, String object, String task, String trainingFile, String heldoutFile,
                              Statistics statistics, long createdAt) {
    }

    /** Deletion result. */
    @Serdeable
    public record Deleted(String id, String object, boolean deleted) {
    }
}
