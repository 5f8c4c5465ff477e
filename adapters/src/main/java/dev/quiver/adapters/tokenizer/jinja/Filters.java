package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Jinja2's built-in filters that chat templates use, plus transformers' {@code tojson}. */
final class Filters {
    static final Set<String> NAMES = Set.of("abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
            "first", "float", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
            "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
            "sum", "title", "tojson", "trim", "unique", "upper", "wordcount");

    private Filters() {}

    static Object apply(String name, Object v, Args a, int line) {
        return switch (name) {
            case "d", "default" -> v instanceof Undefined || (a.bool(1, "boolean", false) && !Values.truthy(v))
                    ? a.get(0, "default_value", "") : v;
            case "length", "count" -> (long) Values.length(v, line);
            case "string" -> Values.str(v);
            case "safe" -> v;
            case "e", "escape" -> escape(Values.str(v));
            case "trim" -> Strings.strip(Values.str(v), a.string(0, "chars"), true, true);
            case "upper" -> Values.str(v).toUpperCase();
            case "lower" -> Values.str(v).toLowerCase();
            case "title" -> Strings.title(Values.str(v));
            case "capitalize" -> Strings.capitalize(Values.str(v));
            case "replace" -> Methods.bind(Values.str(v), "replace", line).call(a.positional, a.kwargs);
            case "wordcount" -> (long) Strings.split(Values.str(v), null, -1).size();
            case "indent" -> indent(Values.str(v), a);
            case "tojson" -> tojson(v, a, line);
            case "first" -> {
                List<Object> items = Values.iterate(v, line);
                yield items.isEmpty() ? new Undefined("no first item, sequence was empty") : items.get(0);
            }
            case "last" -> {
                List<Object> items = Values.iterate(v, line);
                yield items.isEmpty() ? new Undefined("no last item, sequence was empty") : items.get(items.size() - 1);
            }
            case "list" -> new ArrayList<>(Values.iterate(v, line));
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> items = new ArrayList<>(Values.iterate(v, line));
                java.util.Collections.reverse(items);
                yield items;
            }
            case "join" -> join(v, a, line);
            case "items" -> v instanceof Undefined ? List.of() : Methods.bind(v, "items", line).call(List.of(), Map.of());
            case "dictsort" -> {
                List<Object> pairs = new ArrayList<>(Values.iterate(
                        Methods.bind(Values.defined(v, line), "items", line).call(List.of(), Map.of()), line));
                pairs.sort((x, y) -> Values.compare(((List<?>) x).get(0), ((List<?>) y).get(0), line));
                yield pairs;
            }
            case "sort" -> sort(v, a, line);
            case "unique" -> {
                List<Object> out = new ArrayList<>();
                for (Object x : Values.iterate(v, line)) {
                    if (out.stream().noneMatch(y -> Values.eq(x, y))) {
                        out.add(x);
                    }
                }
                yield out;
            }
            case "min", "max" -> {
                List<Object> items = Values.iterate(v, line);
                if (items.isEmpty()) {
                    yield new Undefined("no " + name + " item, sequence was empty");
                }
                Comparator<Object> order = (x, y) -> Values.compare(x, y, line);
                yield name.equals("min") ? items.stream().min(order).get() : items.stream().max(order).get();
            }
            case "sum" -> {
                Object total = a.get(1, "start", 0L);
                for (Object x : Values.iterate(v, line)) {
                    total = Operators.binary("+", total, x, line);
                }
                yield total;
            }
            case "abs" -> v instanceof Double d ? (Object) Math.abs(d) : (Object) Math.abs(Values.asLong(v));
            case "int" -> toInt(v, a);
            case "float" -> toFloat(v, a);
            case "round" -> round(v, a);
            case "select", "reject" -> select(v, a, name.equals("select"), false, line);
            case "selectattr", "rejectattr" -> select(v, a, name.equals("selectattr"), true, line);
            case "map" -> map(v, a, line);
            default -> throw new TemplateException("no filter named '" + name + "'", line);
        };
    }

    /** transformers' {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...)}. */
    private static String tojson(Object v, Args a, int line) {
        Object indent = a.get(0, "indent", null);
        try {
            return PythonJson.dumps(Values.defined(v, line), indent == null ? null : (int) Values.asLong(indent),
                    a.bool(1, "sort_keys", false));
        } catch (IllegalArgumentException e) {
            throw new TemplateException("tojson: " + e.getMessage(), line);
        }
    }

    private static String join(Object v, Args a, int line) {
        String sep = Values.str(a.get(0, "d", ""));
        Object attribute = a.get(1, "attribute", null);
        StringBuilder sb = new StringBuilder();
        List<Object> items = Values.iterate(v, line);
        for (int i = 0; i < items.size(); i++) {
            Object x = attribute == null ? items.get(i) : Access.item(items.get(i), attribute, line);
            sb.append(i > 0 ? sep : "").append(Values.str(x));
        }
        return sb.toString();
    }

    private static List<Object> sort(Object v, Args a, int line) {
        boolean reverse = a.bool(0, "reverse", false);
        boolean caseSensitive = a.bool(1, "case_sensitive", false);
        Object attribute = a.get(2, "attribute", null);
        List<Object> items = new ArrayList<>(Values.iterate(v, line));
        Comparator<Object> order = (x, y) -> {
            Object kx = attribute == null ? x : Access.item(x, attribute, line);
            Object ky = attribute == null ? y : Access.item(y, attribute, line);
            if (!caseSensitive && kx instanceof String sx && ky instanceof String sy) {
                return sx.toLowerCase().compareTo(sy.toLowerCase());
            }
            return Values.compare(kx, ky, line);
        };
        items.sort(reverse ? order.reversed() : order);
        return items;
    }

    private static List<Object> select(Object v, Args a, boolean keep, boolean byAttribute, int line) {
        int first = byAttribute ? 1 : 0;
        Object attribute = byAttribute ? a.positional(0) : null;
        String test = a.positional.size() > first ? (String) a.positional.get(first) : null;
        List<Object> testArgs = a.positional.size() > first + 1
                ? a.positional.subList(first + 1, a.positional.size()) : List.of();
        List<Object> out = new ArrayList<>();
        for (Object x : Values.iterate(v, line)) {
            Object subject = byAttribute ? attributePath(x, attribute, line) : x;
            boolean pass = test == null ? Values.truthy(subject) : Tests.apply(test, subject, testArgs, line);
            if (pass == keep) {
                out.add(x);
            }
        }
        return out;
    }

    private static List<Object> map(Object v, Args a, int line) {
        List<Object> out = new ArrayList<>();
        Object attribute = a.kwargs.get("attribute");
        for (Object x : Values.iterate(v, line)) {
            if (attribute != null) {
                Object y = attributePath(x, attribute, line);
                out.add(y instanceof Undefined && a.kwargs.containsKey("default") ? a.kwargs.get("default") : y);
            } else {
                String filter = (String) a.positional(0);
                List<Object> rest = a.positional.subList(1, a.positional.size());
                out.add(apply(filter, x, new Args(filter, rest, Map.of(), line), line));
            }
        }
        return out;
    }

    /** Jinja2's attribute lookup for filters: {@code "a.b"} walks nested items, and digits index lists. */
    private static Object attributePath(Object x, Object attribute, int line) {
        if (!(attribute instanceof String path)) {
            return Access.item(x, attribute, line);
        }
        Object y = x;
        for (String part : path.split("\\.")) {
            Object key = part.chars().allMatch(Character::isDigit) && !part.isEmpty() ? (Object) Long.parseLong(part) : part;
            y = Access.item(y, key, line);
        }
        return y;
    }

    private static String indent(String s, Args a) {
        Object width = a.get(0, "width", 4L);
        String pad = width instanceof String w ? w : " ".repeat((int) Values.asLong(width));
        boolean first = a.bool(1, "first", false);
        boolean blank = a.bool(2, "blank", false);
        String[] lines = s.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            boolean indentIt = (i > 0 || first) && (blank || !lines[i].isEmpty());
            sb.append(i > 0 ? "\n" : "").append(indentIt ? pad : "").append(lines[i]);
        }
        return sb.toString();
    }

    private static Object toInt(Object v, Args a) {
        Object fallback = a.get(0, "default", 0L);
        if (v instanceof Long || v instanceof Boolean) {
            return Values.asLong(v);
        }
        if (v instanceof Double d) {
            return (long) d.doubleValue();
        }
        try {
            return Long.parseLong(Values.str(v).strip().replace("_", ""));
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(Values.str(v).strip());
            } catch (NumberFormatException again) {
                return fallback;
            }
        }
    }

    private static Object toFloat(Object v, Args a) {
        if (Values.isNumber(v)) {
            return Values.asDouble(v);
        }
        try {
            return Double.parseDouble(Values.str(v).strip());
        } catch (NumberFormatException e) {
            return a.get(0, "default", 0.0);
        }
    }

    private static Object round(Object v, Args a) {
        long precision = a.integer(0, "precision", 0);
        String method = a.string(1, "method");
        double x = Values.asDouble(v);
        double scale = Math.pow(10, precision);
        double r = "floor".equals(method) ? Math.floor(x * scale) / scale
                : "ceil".equals(method) ? Math.ceil(x * scale) / scale
                : new java.math.BigDecimal(Double.toString(x))
                        .setScale((int) precision, java.math.RoundingMode.HALF_EVEN).doubleValue();
        return r;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;")
                .replace("'", "&#39;");
    }

    /** A plain map for {@code dict(...)}: keyword arguments in the order given. */
    static Map<Object, Object> dict(List<Object> args, Map<String, Object> kwargs) {
        Map<Object, Object> out = new LinkedHashMap<>();
        if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> m) {
            out.putAll(m);
        }
        out.putAll(kwargs);
        return out;
    }
}
