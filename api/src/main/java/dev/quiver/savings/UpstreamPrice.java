package dev.quiver.savings;

import io.micronaut.context.annotation.EachProperty;
import io.micronaut.context.annotation.Parameter;

/**
 * One row of the upstream price table, {@code quiver.savings.prices.<name>}: dollars per million input and
 * output tokens for {@code model}; a trailing {@code *} matches dated variants (e.g. {@code gpt-4o*}).
 */
@EachProperty("quiver.savings.prices")
public record UpstreamPrice(@Parameter String name, String model, double inputPerMillion, double outputPerMillion) {

    /** Whether this row prices {@code served} (the model the upstream reported). */
    public boolean matches(String served) {
        return model.endsWith("*") ? served.startsWith(model.substring(0, model.length() - 1)) : served.equals(model);
    }
}
