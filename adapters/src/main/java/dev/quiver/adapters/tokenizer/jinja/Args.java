package dev.quiver.adapters.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** The arguments of one call, read by position or by keyword as Python binds them. */
final class Args {
    final List<Object> positional;
    final Map<String, Object> kwargs;
    private final String callee;
    private final int line;

    Args(String callee, List<Object> positional, Map<String, Object> kwargs, int line) {
        this.callee = callee;
        this.positional = positional;
        this.kwargs = kwargs;
        this.line = line;
    }

    Object get(int index, String name, Object fallback) {
        if (index >= 0 && index < positional.size()) {
            return positional.get(index);
        }
        return kwargs.containsKey(name) ? kwargs.get(name) : fallback;
    }

    Object positional(int index) {
        if (index >= positional.size()) {
            throw new TemplateException(callee + "() is missing positional argument " + index, line);
        }
        return positional.get(index);
    }

    String string(int index, String name) {
        Object v = get(index, name, null);
        if (v != null && !(v instanceof String)) {
            throw new TemplateException(callee + "() argument '" + name + "' must be a string, not "
                    + Values.typeName(v), line);
        }
        return (String) v;
    }

    long integer(int index, String name, long fallback) {
        Object v = get(index, name, null);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Long || v instanceof Boolean)) {
            throw new TemplateException(callee + "() argument '" + name + "' must be an integer, not "
                    + Values.typeName(v), line);
        }
        return Values.asLong(v);
    }

    boolean bool(int index, String name, boolean fallback) {
        Object v = get(index, name, null);
        return v == null ? fallback : Values.truthy(v);
    }
}
