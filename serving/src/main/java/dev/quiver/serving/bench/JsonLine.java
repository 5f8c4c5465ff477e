package dev.quiver.serving.bench;

import java.util.Locale;

/** Builds one flat-or-nested JSON object on one line, keys in insertion order; NaN becomes null. */
final class JsonLine {
    private final StringBuilder out = new StringBuilder("{");
    private boolean first = true;

    JsonLine put(String key, String value) {
        key(key);
        if (value == null) {
            out.append("null");
        } else {
            out.append('"').append(value.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return this;
    }

    JsonLine put(String key, long value) {
        key(key);
        out.append(value);
        return this;
    }

    /** A number rounded to {@code decimals} places. */
    JsonLine put(String key, double value, int decimals) {
        key(key);
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            out.append("null");
        } else {
            out.append(String.format(Locale.ROOT, "%." + decimals + "f", value));
        }
        return this;
    }

    JsonLine put(String key, JsonLine nested) {
        key(key);
        out.append(nested);
        return this;
    }

    private void key(String key) {
        if (!first) {
            out.append(',');
        }
        first = false;
        out.append('"').append(key).append("\":");
    }

    @Override
    public String toString() {
        return out + "}";
    }
}
