package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An expression of the template, evaluated against a scope. */
interface Expr {
    Object eval(Scope scope);

    record Literal(Object value) implements Expr {
        public Object eval(Scope scope) {
            return value;
        }
    }

    record Name(String name, int line) implements Expr {
        public Object eval(Scope scope) {
            return scope.get(name);
        }
    }

    record ListLiteral(List<Expr> items) implements Expr {
        public Object eval(Scope scope) {
            List<Object> out = new ArrayList<>(items.size());
            items.forEach(e -> out.add(e.eval(scope)));
            return out;
        }
    }

    record DictLiteral(List<Expr> keys, List<Expr> values) implements Expr {
        public Object eval(Scope scope) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                out.put(keys.get(i).eval(scope), values.get(i).eval(scope));
            }
            return out;
        }
    }

    record Attribute(Expr target, String name, int line) implements Expr {
        public Object eval(Scope scope) {
            return Access.attribute(target.eval(scope), name, line);
        }
    }

    record Item(Expr target, Expr key, int line) implements Expr {
        public Object eval(Scope scope) {
            return Access.item(target.eval(scope), key.eval(scope), line);
        }
    }

    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {
        public Object eval(Scope scope) {
            return Access.slice(target.eval(scope), opt(start, scope), opt(stop, scope), opt(step, scope), line);
        }

        private static Object opt(Expr e, Scope scope) {
            Object v = e == null ? null : e.eval(scope);
            return v instanceof Undefined ? null : v;
        }
    }

    record Call(Expr callee, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {
        public Object eval(Scope scope) {
            Object f = callee.eval(scope);
            if (!(f instanceof PyCallable callable)) {
                Values.defined(f, line);
                throw new TemplateException("'" + Values.typeName(f) + "' object is not callable", line);
            }
            try {
                return callable.call(values(args, scope), values(kwargs, scope));
            } catch (ClassCastException | IllegalArgumentException | IndexOutOfBoundsException e) {
                throw new TemplateException("bad arguments in a call: " + e.getMessage(), line);
            }
        }
    }

    record Filter(Expr target, String name, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {
        public Object eval(Scope scope) {
            Object v = target.eval(scope);
            try {
                return Filters.apply(name, v, new Args(name, values(args, scope), values(kwargs, scope), line), line);
            } catch (ClassCastException | IllegalArgumentException | IndexOutOfBoundsException e) {
                throw new TemplateException("filter '" + name + "' cannot take these arguments: " + e.getMessage(), line);
            }
        }
    }

    record Test(Expr target, String name, List<Expr> args, boolean negated, int line) implements Expr {
        public Object eval(Scope scope) {
            return negated != Tests.apply(name, target.eval(scope), values(args, scope), line);
        }
    }

    record Not(Expr operand) implements Expr {
        public Object eval(Scope scope) {
            return !Values.truthy(operand.eval(scope));
        }
    }

    record Negate(Expr operand, int line) implements Expr {
        public Object eval(Scope scope) {
            Object v = Values.defined(operand.eval(scope), line);
            if (v instanceof Double d) {
                return -d;
            }
            if (!Values.isNumber(v)) {
                throw new TemplateException("bad operand type for unary -: '" + Values.typeName(v) + "'", line);
            }
            return -Values.asLong(v);
        }
    }

    /** {@code and} / {@code or}: Python's short-circuit, returning an operand rather than a boolean. */
    record Logical(boolean isAnd, Expr left, Expr right) implements Expr {
        public Object eval(Scope scope) {
            Object l = left.eval(scope);
            return Values.truthy(l) == isAnd ? right.eval(scope) : l;
        }
    }

    record Binary(String op, Expr left, Expr right, int line) implements Expr {
        public Object eval(Scope scope) {
            return Operators.binary(op, left.eval(scope), right.eval(scope), line);
        }
    }

    /** Python's chained comparison: {@code a < b < c} is {@code a < b and b < c}. */
    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {
        public Object eval(Scope scope) {
            Object left = first.eval(scope);
            for (int i = 0; i < ops.size(); i++) {
                Object right = rest.get(i).eval(scope);
                if (!Values.truthy(Operators.binary(ops.get(i), left, right, line))) {
                    return false;
                }
                left = right;
            }
            return true;
        }
    }

    record Conditional(Expr test, Expr then, Expr otherwise) implements Expr {
        public Object eval(Scope scope) {
            if (Values.truthy(test.eval(scope))) {
                return then.eval(scope);
            }
            return otherwise == null ? new Undefined("the inline if had no else") : otherwise.eval(scope);
        }
    }

    private static List<Object> values(List<Expr> exprs, Scope scope) {
        List<Object> out = new ArrayList<>(exprs.size());
        exprs.forEach(e -> out.add(e.eval(scope)));
        return out;
    }

    private static Map<String, Object> values(Map<String, Expr> exprs, Scope scope) {
        if (exprs.isEmpty()) {
            return Map.of();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        exprs.forEach((k, e) -> out.put(k, e.eval(scope)));
        return out;
    }
}
