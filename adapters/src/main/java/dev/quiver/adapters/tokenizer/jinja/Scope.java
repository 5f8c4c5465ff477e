package dev.quiver.adapters.tokenizer.jinja;

import java.util.HashMap;
import java.util.Map;

/** Variables visible at one point of a render: a frame of its own over its enclosing frames. */
final class Scope {
    private final Map<String, Object> vars = new HashMap<>();
    private final Scope parent;

    Scope(Scope parent) {
        this.parent = parent;
    }

    Object get(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            Object v = s.vars.get(name);
            if (v != null || s.vars.containsKey(name)) {
                return v;
            }
        }
        return new Undefined("'" + name + "' is undefined");
    }

    void set(String name, Object value) {
        vars.put(name, value);
    }
}
