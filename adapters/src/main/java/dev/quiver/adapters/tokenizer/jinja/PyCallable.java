package dev.quiver.adapters.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** Anything a template can call: globals, macros, bound string and dict methods. */
@FunctionalInterface
public interface PyCallable {
    Object call(List<Object> args, Map<String, Object> kwargs);
}
