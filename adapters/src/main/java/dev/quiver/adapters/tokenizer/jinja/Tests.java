package dev.quiver.adapters.tokenizer.jinja;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Jinja2's tests, the right-hand side of {@code x is name(args)}. */
final class Tests {
    static final Set<String> NAMES = Set.of("boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==",
            "escaped", "even", "false", "float", "ge", ">=", "gt", ">", "greaterthan", "in", "integer", "iterable",
            "le", "<=", "lower", "lt", "<", "lessthan", "mapping", "ne", "!=", "none", "number", "odd", "sameas",
            "sequence", "string", "true", "undefined", "upper");

    private Tests() {}

    static boolean apply(String name, Object v, List<Object> args, int line) {
        Object arg = args.isEmpty() ? null : args.get(0);
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map;
            case "number" -> v instanceof Long || v instanceof Double || v instanceof Boolean;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "iterable" -> v instanceof Collection || v instanceof Map || v instanceof String
                    || v instanceof Undefined;
            case "sequence" -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined;
            case "callable" -> v instanceof PyCallable;
            case "escaped" -> false;
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase());
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase());
            case "even", "odd" -> {
                long x = Values.asLong(Values.defined(v, line));
                yield (x % 2 == 0) == name.equals("even");
            }
            case "divisibleby" -> Values.asLong(v) % Values.asLong(arg) == 0;
            case "eq", "equalto", "==" -> Values.eq(v, arg);
            case "ne", "!=" -> !Values.eq(v, arg);
            case "gt", ">", "greaterthan" -> Values.compare(v, arg, line) > 0;
            case "ge", ">=" -> Values.compare(v, arg, line) >= 0;
            case "lt", "<", "lessthan" -> Values.compare(v, arg, line) < 0;
            case "le", "<=" -> Values.compare(v, arg, line) <= 0;
            case "in" -> Values.contains(arg, v, line);
            case "sameas" -> v == arg || (v != null && v.equals(arg) && !(v instanceof Collection || v instanceof Map));
            default -> throw new TemplateException("no test named '" + name + "'", line);
        };
    }
}
