package dev.quiver.adapters.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes values exactly as Python's {@code json.dumps(x, ensure_ascii=False)} does, which is what
 * transformers' {@code tojson} template filter calls: the text a model was trained on depends on it.
 */
final class PythonJson {

    private PythonJson() {}

    /**
     * Serialises {@code value}.
     *
     * @param indent null for one line with {@code ", "} and {@code ": "} separators; otherwise
     *     newlines with this many spaces per level and {@code ","} item separators, as in Python
     * @param sortKeys sort object keys, as {@code sort_keys=True}
     */
    static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, sortKeys, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Integer indent, boolean sortKeys, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof CharSequence || value instanceof Character) {
            writeString(out, value.toString());
        } else if (value instanceof Boolean) {
            out.append((boolean) value ? "true" : "false");
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short
                || value instanceof Byte || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Double || value instanceof Float) {
            // Float.toString first, so 0.1f prints as Python's 0.1 rather than 0.10000000149011612.
            out.append(pythonFloat(Double.parseDouble(value.toString())));
        } else if (value instanceof BigDecimal decimal) {
            out.append(pythonFloat(decimal.doubleValue()));
        } else if (value instanceof Map<?, ?> map) {
            writeObject(out, map, indent, sortKeys, depth);
        } else if (value instanceof Iterable<?> items) {
            List<Object> list = new ArrayList<>();
            items.forEach(list::add);
            writeArray(out, list, indent, sortKeys, depth);
        } else if (value instanceof Object[] array) {
            writeArray(out, Arrays.asList(array), indent, sortKeys, depth);
        } else {
            throw new IllegalArgumentException("tojson cannot serialise a " + value.getClass().getName()
                    + " (" + value + "); pass maps, lists, strings, numbers, booleans or null");
        }
    }

    private static void writeObject(
            StringBuilder out, Map<?, ?> map, Integer indent, boolean sortKeys, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        if (sortKeys) {
            entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
        }
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
            separate(out, i, indent, depth + 1);
            Object key = entries.get(i).getKey();
            // Python turns non-string keys into strings: True -> "true", 1 -> "1", None -> "null".
            writeString(out, key == null ? "null" : key instanceof Boolean b ? (b ? "true" : "false") : key.toString());
            out.append(": ");
            write(out, entries.get(i).getValue(), indent, sortKeys, depth + 1);
        }
        close(out, '}', indent, depth);
    }

    private static void writeArray(
            StringBuilder out, List<?> items, Integer indent, boolean sortKeys, int depth) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        for (int i = 0; i < items.size(); i++) {
            separate(out, i, indent, depth + 1);
            write(out, items.get(i), indent, sortKeys, depth + 1);
        }
        close(out, ']', indent, depth);
    }

    private static void separate(StringBuilder out, int index, Integer indent, int depth) {
        if (indent == null) {
            if (index > 0) {
                out.append(", ");
            }
        } else {
            out.append(index > 0 ? ",\n" : "\n").append(" ".repeat(indent * depth));
        }
    }

    private static void close(StringBuilder out, char bracket, Integer indent, int depth) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
        out.append(bracket);
    }

    private static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's float repr: shortest digits, exponent form below 1e-4 or from 1e16 (1e-05, 1e+16). */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = exact.unscaledValue().toString();
        int exponent = digits.length() - 1 - exact.scale();
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = exact.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
