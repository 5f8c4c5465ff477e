package dev.quiver.serving.constraint;

import com.fasterxml.jackson.databind.JsonNode;
import dk.brics.automaton.Automaton;
import java.util.List;

/**
 * The string formats a constraint can write, each a regular subset of what a format validator accepts:
 * dates with days that exist in every year (February to the 28th), times without leap seconds and with offsets below 18 hours (as java.time reads them), plain
 * dot-atom e-mail addresses under common top-level domains, lower-case UUIDs.
 */
final class Formats {
    private static final String DAY_31 = "(0[1-9]|[12][0-9]|3[01])";
    private static final String DAY_30 = "(0[1-9]|[12][0-9]|30)";
    private static final String DAY_28 = "(0[1-9]|1[0-9]|2[0-8])";
    static final String DATE = "[0-9]{4}-((0[13578]|1[02])-" + DAY_31 + "|(0[469]|11)-" + DAY_30 + "|02-" + DAY_28
            + ")";
    static final String TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-7]):"
            + "[0-5][0-9])";
    // a local part under 64 characters and labels under 63, as RFC 5321 requires
    static final String EMAIL = "[a-z0-9]{1,16}(\\.[a-z0-9]{1,16}){0,2}@[a-z0-9]{1,20}(-[a-z0-9]{1,20})?"
            + "(\\.[a-z0-9]{1,20})?\\.(com|org|net|io|dev)";
    static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
    private static final List<String> NAMES = List.of("date", "date-time", "email", "uuid");

    private Formats() {
    }

    /** The unquoted strings of format {@code format}; an unknown format is refused at {@code path}. */
    static Automaton of(JsonNode format, String path) {
        String regex = switch (format.asText()) {
            case "date" -> DATE;
            case "date-time" -> DATE + "T" + TIME;
            case "email" -> EMAIL;
            case "uuid" -> UUID;
            default -> throw new ConstraintException(path, "format", "format " + format
                    + " is not supported by constrained decoding; use one of " + NAMES + " or a pattern");
        };
        return RegexParser.parse(regex, path, "format");
    }
}
