package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A statement of the template; rendering appends to {@code out} and reports a pending break or continue. */
interface Node {
    Flow render(Scope scope, StringBuilder out);

    /** How control leaves a statement: normally, or through {@code break} / {@code continue} of the loop. */
    enum Flow { NORMAL, BREAK, CONTINUE }

    static Flow renderAll(List<Node> body, Scope scope, StringBuilder out) {
        for (Node n : body) {
            Flow f = n.render(scope, out);
            if (f != Flow.NORMAL) {
                return f;
            }
        }
        return Flow.NORMAL;
    }

    record Text(String text) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            out.append(text);
            return Flow.NORMAL;
        }
    }

    record Output(Expr expr) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            out.append(Values.str(expr.eval(scope)));
            return Flow.NORMAL;
        }
    }

    record LoopControl(Flow flow) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            return flow;
        }
    }

    /** {@code if} / {@code elif} / {@code else}: tests and bodies in order; a null test is the else branch. */
    record If(List<Expr> tests, List<List<Node>> bodies) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            for (int i = 0; i < tests.size(); i++) {
                if (tests.get(i) == null || Values.truthy(tests.get(i).eval(scope))) {
                    return renderAll(bodies.get(i), scope, out);
                }
            }
            return Flow.NORMAL;
        }
    }

    /** {@code for targets in iterable [if filter]}; every iteration gets a fresh scope, as in Jinja2. */
    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
            implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            List<Object> items = Values.iterate(iterable.eval(scope), line);
            if (filter != null) {
                List<Object> kept = new ArrayList<>();
                for (Object item : items) {
                    Scope s = new Scope(scope);
                    bind(s, item);
                    if (Values.truthy(filter.eval(s))) {
                        kept.add(item);
                    }
                }
                items = kept;
            }
            if (items.isEmpty()) {
                return renderAll(otherwise, scope, out);
            }
            for (int i = 0; i < items.size(); i++) {
                Scope s = new Scope(scope);
                bind(s, items.get(i));
                s.set("loop", new Loop(items, i));
                if (renderAll(body, s, out) == Flow.BREAK) {
                    break;
                }
            }
            return Flow.NORMAL;
        }

        private void bind(Scope s, Object item) {
            if (targets.size() == 1) {
                s.set(targets.get(0), item);
                return;
            }
            List<Object> parts = Values.iterate(item, line);
            if (parts.size() != targets.size()) {
                throw new TemplateException("cannot unpack " + parts.size() + " values into " + targets.size()
                        + " loop variables", line);
            }
            for (int i = 0; i < targets.size(); i++) {
                s.set(targets.get(i), parts.get(i));
            }
        }
    }

    /** {@code set name = value}, {@code set ns.attr = value}, or the block form when {@code body} is set. */
    record Set(String name, String attribute, Expr value, List<Node> body, int line) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            Object v;
            if (body != null) {
                StringBuilder captured = new StringBuilder();
                renderAll(body, scope, captured);
                v = captured.toString();
            } else {
                v = value.eval(scope);
            }
            if (attribute == null) {
                scope.set(name, v);
                return Flow.NORMAL;
            }
            if (!(scope.get(name) instanceof Namespace ns)) {
                throw new TemplateException("cannot assign attribute on non-namespace object '" + name
                        + "': use {% set " + name + " = namespace(" + attribute + "=...) %} first", line);
            }
            ns.attrs.put(attribute, v);
            return Flow.NORMAL;
        }
    }

    /** {@code macro name(params)}: defines a callable that renders its body in a scope of its own. */
    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            scope.set(name, (PyCallable) (args, kwargs) -> call(scope, args, kwargs));
            return Flow.NORMAL;
        }

        private String call(Scope defining, List<Object> args, Map<String, Object> kwargs) {
            Scope s = new Scope(defining);
            for (int i = 0; i < params.size(); i++) {
                String p = params.get(i);
                Expr fallback = defaults.get(i);
                Object v = i < args.size() ? args.get(i)
                        : kwargs.containsKey(p) ? kwargs.get(p)
                        : fallback != null ? fallback.eval(s) : new Undefined("'" + p + "' is undefined");
                s.set(p, v);
            }
            s.set("varargs", args.size() > params.size() ? args.subList(params.size(), args.size()) : List.of());
            StringBuilder captured = new StringBuilder();
            renderAll(body, s, captured);
            return captured.toString();
        }
    }

    /** transformers' {@code generation} block: it marks assistant text for masks; rendering needs only its body. */
    record Generation(List<Node> body) implements Node {
        public Flow render(Scope scope, StringBuilder out) {
            return renderAll(body, scope, out);
        }
    }
}
