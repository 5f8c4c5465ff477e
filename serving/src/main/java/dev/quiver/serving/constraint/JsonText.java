package dev.quiver.serving.constraint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicAutomata;
import java.util.List;

/**
 * Compact JSON text as automata: the scalars, strings by length, containers of given members. Numbers have
 * at most 15 digits, so a constrained number always ends, and no exponent or trailing zero in the fraction,
 * so a number's text says whether it is an integer (which {@code oneOf} over integer and number relies on).
 */
final class JsonText {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GENERIC_DEPTH = 3;
    // built once: the character-set differences behind them determinize the whole BMP, which is the slow part
    private static final Automaton UNESCAPED = minimal(Chars.anyExcept(BasicAutomata.makeCharSet("\"\\")
            .union(BasicAutomata.makeCharRange('\0', '\u001F'))));
    private static final Automaton STRING_CHAR = minimal(UNESCAPED.union(literal("\\")
            .concatenate(BasicAutomata.makeCharSet("\"\\/bfnrt"))));

    private JsonText() {
    }

    static Automaton literal(String text) {
        return BasicAutomata.makeString(text);
    }

    /** A JSON value's compact text, characters beyond U+FFFF as {@code \\u} escapes so the automaton can spell them. */
    static Automaton literal(JsonNode value) {
        try {
            String text = JSON.writeValueAsString(value);
            StringBuilder out = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                out.append(Character.isSurrogate(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
            return literal(out.toString());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON value must serialise", e);
        }
    }

    static Automaton bool() {
        return literal("true").union(literal("false"));
    }

    static Automaton nul() {
        return literal("null");
    }

    static Automaton integer() {
        Automaton digits = BasicAutomata.makeCharRange('0', '9');
        Automaton unsigned = literal("0").union(BasicAutomata.makeCharRange('1', '9').concatenate(digits.repeat(0, 14)));
        return literal("-").optional().concatenate(unsigned);
    }

    /** An integer, or a fraction of at most 14 significant digits: a double then still reads it as non-integral. */
    static Automaton number() {
        Automaton digits = BasicAutomata.makeCharRange('0', '9');
        Automaton whole = literal("0").union(BasicAutomata.makeCharRange('1', '9').concatenate(digits.repeat(0, 7)));
        Automaton fraction = Automaton.concatenate(List.of(literal("-").optional(), whole, literal("."),
                digits.repeat(0, 5), BasicAutomata.makeCharRange('1', '9')));
        return integer().union(fraction);
    }

    /** One character of a JSON string's content: unescaped, or one of the short escapes. */
    static Automaton stringChar() {
        return STRING_CHAR.clone();
    }

    /** The characters a JSON string may hold as they are: not a quote, a backslash or a control character. */
    static Automaton unescaped() {
        return UNESCAPED.clone();
    }

    /** A JSON string of {@code min} to {@code max} characters ({@code max} -1: no limit). */
    static Automaton string(int min, int max) {
        Automaton body = max < 0 ? stringChar().repeat(min) : stringChar().repeat(min, max);
        return quoted(body);
    }

    static Automaton quoted(Automaton content) {
        return Automaton.concatenate(List.of(literal("\""), content, literal("\"")));
    }

    /** {@code [item, ...]} with {@code min} to {@code max} items ({@code max} -1: no limit). */
    static Automaton array(Automaton item, int min, int max) {
        if (max == 0) {
            return literal("[]");
        }
        Automaton more = literal(",").concatenate(item);
        Automaton rest = max < 0 ? more.repeat(Math.max(min - 1, 0)) : more.repeat(Math.max(min - 1, 0), max - 1);
        Automaton items = item.concatenate(rest);
        if (min == 0) {
            items = items.optional();
        }
        return Automaton.concatenate(List.of(literal("["), items, literal("]")));
    }

    /** Any JSON value, containers nested at most {@value #GENERIC_DEPTH} deep (a regular language must bound it). */
    static Automaton anyValue() {
        return anyValue(GENERIC_DEPTH);
    }

    /** Any JSON object, its values nested at most {@value #GENERIC_DEPTH} deep. */
    static Automaton anyObject() {
        return object(anyValue(GENERIC_DEPTH - 1));
    }

    private static Automaton anyValue(int depth) {
        Automaton scalars = Automaton.union(List.of(string(0, -1), number(), bool(), nul()));
        if (depth == 0) {
            return minimal(scalars);
        }
        Automaton inner = anyValue(depth - 1);
        return minimal(Automaton.union(List.of(scalars, array(inner, 0, -1), object(inner))));
    }

    private static Automaton object(Automaton value) {
        Automaton member = Automaton.concatenate(List.of(string(0, -1), literal(":"), value));
        Automaton members = member.concatenate(literal(",").concatenate(member).repeat()).optional();
        return minimal(Automaton.concatenate(List.of(literal("{"), members, literal("}"))));
    }

    static Automaton minimal(Automaton a) {
        a.minimize();
        return a;
    }
}
