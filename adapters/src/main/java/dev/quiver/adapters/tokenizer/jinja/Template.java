package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A parsed Jinja template with the Jinja2 semantics that Hugging Face chat templates rely on: trim_blocks,
 * lstrip_blocks, loop controls, Python values and methods, and an immutable sandbox. Thread-safe once parsed.
 */
public final class Template {
    private final List<Node> body;

    private Template(List<Node> body) {
        this.body = body;
    }

    /**
     * Parses {@code source}.
     *
     * @throws TemplateException naming the line, for a template that Jinja2 would refuse to compile too
     */
    public static Template parse(String source) {
        return new Template(Parser.parse(source));
    }

    /**
     * Renders with {@code vars} as the template's globals; Java maps, collections, numbers and strings become
     * Python dicts, lists, ints, floats and strs, and a {@link PyCallable} is a function the template can call.
     * The built-ins {@code range}, {@code namespace} and {@code dict} are always there.
     *
     * @throws TemplateException for an error while rendering, naming the line
     * @throws RaisedException when the template calls a {@code raise_exception} passed in {@code vars}
     */
    public String render(Map<String, ?> vars) {
        Scope globals = new Scope(null);
        globals.set("range", (PyCallable) Template::range);
        globals.set("namespace", (PyCallable) (args, kwargs) -> {
            Namespace ns = new Namespace();
            Filters.dict(args, kwargs).forEach((k, v) -> ns.attrs.put(Values.str(k), v));
            return ns;
        });
        globals.set("dict", (PyCallable) Filters::dict);
        Scope scope = new Scope(globals);
        vars.forEach((k, v) -> scope.set(k, v instanceof PyCallable ? v : Values.normalize(v)));
        StringBuilder out = new StringBuilder();
        Node.renderAll(body, scope, out);
        return out.toString();
    }

    private static Object range(List<Object> args, Map<String, Object> kwargs) {
        long start = args.size() > 1 ? Values.asLong(args.get(0)) : 0;
        long stop = Values.asLong(args.get(args.size() > 1 ? 1 : 0));
        long step = args.size() > 2 ? Values.asLong(args.get(2)) : 1;
        if (step == 0) {
            throw new IllegalArgumentException("range() arg 3 must not be zero");
        }
        List<Object> out = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            out.add(i);
        }
        return out;
    }
}
