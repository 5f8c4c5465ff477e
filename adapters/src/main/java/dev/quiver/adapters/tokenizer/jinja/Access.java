package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Jinja2's {@code getattr} ({@code a.b}: attribute, then item) and {@code getitem} ({@code a[b]}: item, then attribute). */
final class Access {
    private Access() {}

    static Object attribute(Object obj, String name, int line) {
        Values.defined(obj, line);
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name) : missing(obj, name);
        }
        if (obj instanceof Loop loop) {
            return loop.attribute(name, line);
        }
        if (Methods.has(obj, name)) {
            return Methods.bind(obj, name, line);
        }
        if (obj instanceof Map<?, ?> map && map.containsKey(name)) {
            return map.get(name);
        }
        return missing(obj, name);
    }

    static Object item(Object obj, Object key, int line) {
        Values.defined(obj, line);
        if (obj instanceof Map<?, ?> map) {
            if (map.containsKey(key)) {
                return map.get(key);
            }
        } else if (obj instanceof List<?> list && isIndex(key)) {
            int i = index(Values.asLong(key), list.size());
            return i < 0 ? missing(obj, key) : list.get(i);
        } else if (obj instanceof String s && isIndex(key)) {
            int[] cps = s.codePoints().toArray();
            int i = index(Values.asLong(key), cps.length);
            return i < 0 ? missing(obj, key) : new String(cps, i, 1);
        }
        if (key instanceof String name && !(obj instanceof Map)) {
            return attribute(obj, name, line);
        }
        if (key instanceof String name && Methods.has(obj, name)) {
            return Methods.bind(obj, name, line);
        }
        return missing(obj, key);
    }

    /** Python's {@code obj[start:stop:step]} on lists and strings. */
    static Object slice(Object obj, Object start, Object stop, Object step, int line) {
        Values.defined(obj, line);
        long st = step == null ? 1 : Values.asLong(step);
        if (st == 0) {
            throw new TemplateException("slice step cannot be zero", line);
        }
        List<Object> items;
        boolean isString = obj instanceof String;
        if (isString) {
            items = Values.iterate(obj, line);
        } else if (obj instanceof List<?>) {
            items = Values.iterate(obj, line);
        } else {
            throw new TemplateException("'" + Values.typeName(obj) + "' object is not subscriptable", line);
        }
        int n = items.size();
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : bound(Values.asLong(start), n, 0, n);
            hi = stop == null ? n : bound(Values.asLong(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : bound(Values.asLong(start), n, -1, n - 1);
            hi = stop == null ? -1 : bound(Values.asLong(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            out.add(items.get((int) i));
        }
        if (!isString) {
            return out;
        }
        StringBuilder sb = new StringBuilder();
        out.forEach(sb::append);
        return sb.toString();
    }

    private static long bound(long i, int n, long min, long max) {
        long j = i < 0 ? i + n : i;
        return Math.max(min, Math.min(max, j));
    }

    private static boolean isIndex(Object key) {
        return key instanceof Long || key instanceof Boolean;
    }

    private static int index(long i, int size) {
        long j = i < 0 ? i + size : i;
        return j < 0 || j >= size ? -1 : (int) j;
    }

    private static Undefined missing(Object obj, Object key) {
        return new Undefined("'" + Values.typeName(obj) + " object' has no attribute " + Values.repr(key));
    }
}
