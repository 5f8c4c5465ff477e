package dev.quiver.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.Serving;
import dev.quiver.serving.ServingLimits;
import io.micronaut.context.annotation.Primary;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.util.List;
import org.reactivestreams.Publisher;

/**
 * A serving tier that only reports its limits (rank 64, attention modules only), for the tests of the
 * control plane's limit checks; it runs nothing. Primary, so it stays the one a test asks for once the real
 * {@code Serving} beans exist beside it.
 */
@Singleton
@Primary
@Requires(property = "test.fixed-serving")
class FixedLimitsServing implements Serving {
    static final ServingLimits LIMITS = new ServingLimits("qwen3-tiny", 64,
            List.of("q_proj", "k_proj", "v_proj", "o_proj"), 256, 4, 8);

    @Override
    public ServingLimits limits() {
        return LIMITS;
    }

    @Override
    public JsonNode complete(Endpoint endpoint, ObjectNode body, String project) {
        throw new UnsupportedOperationException("FixedLimitsServing reports limits only");
    }

    @Override
    public Publisher<String> stream(Endpoint endpoint, ObjectNode body, String project) {
        throw new UnsupportedOperationException("FixedLimitsServing reports limits only");
    }

    @Override
    public String resolve(String model, String project) {
        throw new UnsupportedOperationException("FixedLimitsServing reports limits only");
    }

    @Override
    public void pin(String adapterId) {
        throw new UnsupportedOperationException("FixedLimitsServing reports limits only");
    }

    @Override
    public void unpin(String adapterId) {
        throw new UnsupportedOperationException("FixedLimitsServing reports limits only");
    }
}
