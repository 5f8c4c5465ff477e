package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Python methods templates call on strings, dicts and lists ({@code content.startswith('x')},
 * {@code message.items()}); mutating ones are refused, as in transformers' immutable sandbox.
 */
final class Methods {
    private static final Set<String> STRING = Set.of("startswith", "endswith", "split", "rsplit", "strip", "lstrip",
            "rstrip", "upper", "lower", "title", "capitalize", "replace", "find", "rfind", "index", "count", "join",
            "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "splitlines", "format");
    private static final Set<String> DICT = Set.of("items", "keys", "values", "get", "copy");
    private static final Set<String> LIST = Set.of("index", "count", "copy");
    private static final Set<String> MUTATING = Set.of("append", "extend", "insert", "pop", "remove", "clear",
            "update", "setdefault", "popitem", "sort", "reverse");

    private Methods() {}

    static boolean has(Object obj, String name) {
        return (obj instanceof String && STRING.contains(name))
                || (obj instanceof Map && (DICT.contains(name) || MUTATING.contains(name)))
                || (obj instanceof List && (LIST.contains(name) || MUTATING.contains(name)));
    }

    static PyCallable bind(Object obj, String name, int line) {
        if (MUTATING.contains(name)) {
            return (args, kwargs) -> {
                throw new TemplateException("access to attribute '" + name + "' of '" + Values.typeName(obj)
                        + "' object is unsafe: chat templates run in an immutable sandbox, as in transformers; "
                        + "build a new value instead (e.g. list + [item])", line);
            };
        }
        return (args, kwargs) -> {
            Args a = new Args(name, args, kwargs, line);
            if (obj instanceof String s) {
                return string(s, name, a, line);
            }
            if (obj instanceof Map<?, ?> m) {
                return dict(m, name, a);
            }
            return list((List<?>) obj, name, a, line);
        };
    }

    private static Object string(String s, String name, Args a, int line) {
        return switch (name) {
            case "startswith", "endswith" -> {
                Object p = a.get(0, "prefix", null);
                List<Object> options = p instanceof List<?> l ? new ArrayList<>(l) : List.of(Values.defined(p, line));
                boolean start = name.equals("startswith");
                for (Object o : options) {
                    String x = (String) o;
                    if (start ? s.startsWith(x) : s.endsWith(x)) {
                        yield true;
                    }
                }
                yield false;
            }
            case "split" -> Strings.split(s, a.string(0, "sep"), (int) a.integer(1, "maxsplit", -1));
            case "rsplit" -> Strings.rsplit(s, a.string(0, "sep"), (int) a.integer(1, "maxsplit", -1));
            case "strip" -> Strings.strip(s, a.string(0, "chars"), true, true);
            case "lstrip" -> Strings.strip(s, a.string(0, "chars"), true, false);
            case "rstrip" -> Strings.strip(s, a.string(0, "chars"), false, true);
            case "upper" -> s.toUpperCase();
            case "lower" -> s.toLowerCase();
            case "title" -> Strings.title(s);
            case "capitalize" -> Strings.capitalize(s);
            case "replace" -> replace(s, a.string(0, "old"), a.string(1, "new"), a.integer(2, "count", -1));
            case "find", "index" -> {
                int at = s.indexOf(a.string(0, "sub"));
                if (at < 0 && name.equals("index")) {
                    throw new TemplateException("substring not found", line);
                }
                yield at < 0 ? -1L : (long) s.codePointCount(0, at);
            }
            case "rfind" -> {
                int at = s.lastIndexOf(a.string(0, "sub"));
                yield at < 0 ? -1L : (long) s.codePointCount(0, at);
            }
            case "count" -> (long) count(s, a.string(0, "sub"));
            case "join" -> {
                StringBuilder sb = new StringBuilder();
                List<Object> items = Values.iterate(a.get(0, "iterable", null), line);
                for (int i = 0; i < items.size(); i++) {
                    sb.append(i > 0 ? s : "").append(Values.str(items.get(i)));
                }
                yield sb.toString();
            }
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(c -> Strings.isSpace((char) c));
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase());
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase());
            case "splitlines" -> {
                List<Object> lines = new ArrayList<>(List.of(s.split("\r\n|\n|\r", -1)));
                if (!lines.isEmpty() && ((String) lines.get(lines.size() - 1)).isEmpty()) {
                    lines.remove(lines.size() - 1); // Python yields no empty last line for a trailing break
                }
                yield lines;
            }
            default -> format(s, a, line);
        };
    }

    /** {@code str.format} with {@code {}}, {@code {0}} and {@code {name}} fields, no format specs. */
    private static String format(String s, Args a, int line) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c == '{' || c == '}') && i + 1 < s.length() && s.charAt(i + 1) == c) {
                sb.append(c);
                i++;
            } else if (c == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) {
                    throw new TemplateException("Single '{' encountered in format string", line);
                }
                String field = s.substring(i + 1, end);
                Object v = field.isEmpty() ? a.positional(auto++)
                        : field.chars().allMatch(Character::isDigit) ? a.positional(Integer.parseInt(field))
                        : a.kwargs.get(field);
                sb.append(Values.str(v));
                i = end;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Object dict(Map<?, ?> m, String name, Args a) {
        return switch (name) {
            case "items" -> {
                List<Object> pairs = new ArrayList<>(m.size());
                m.forEach((k, v) -> pairs.add(Arrays.asList(k, v)));
                yield pairs;
            }
            case "keys" -> new ArrayList<Object>(m.keySet());
            case "values" -> new ArrayList<Object>(m.values());
            case "copy" -> new LinkedHashMap<Object, Object>(m);
            default -> {
                Object key = a.get(0, "key", null);
                yield m.containsKey(key) ? m.get(key) : a.get(1, "default", null);
            }
        };
    }

    private static Object list(List<?> l, String name, Args a, int line) {
        Object x = a.get(0, "value", null);
        if (name.equals("copy")) {
            return new ArrayList<Object>(l);
        }
        int at = -1;
        long n = 0;
        for (int i = 0; i < l.size(); i++) {
            if (Values.eq(l.get(i), x)) {
                at = at < 0 ? i : at;
                n++;
            }
        }
        if (name.equals("count")) {
            return n;
        }
        if (at < 0) {
            throw new TemplateException(Values.repr(x) + " is not in list", line);
        }
        return (long) at;
    }

    private static String replace(String s, String old, String repl, long count) {
        if (count < 0) {
            return s.replace(old, repl);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long i = 0; i < count; i++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            sb.append(s, from, at).append(repl);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from < s.length()) {
                    sb.append(s.charAt(from));
                }
                from++;
            }
        }
        return from <= s.length() ? sb.append(s.substring(Math.min(from, s.length()))).toString() : sb.toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }
}
