package dev.quiver.adapters.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/** Python's arithmetic and comparison operators over template values. */
final class Operators {
    private Operators() {}

    static Object binary(String op, Object a, Object b, int line) {
        switch (op) {
            case "==":
                return Values.eq(a, b);
            case "!=":
                return !Values.eq(a, b);
            case "<":
                return Values.compare(a, b, line) < 0;
            case ">":
                return Values.compare(a, b, line) > 0;
            case "<=":
                return Values.compare(a, b, line) <= 0;
            case ">=":
                return Values.compare(a, b, line) >= 0;
            case "in":
                return Values.contains(b, a, line);
            case "not in":
                return !Values.contains(b, a, line);
            case "~":
                return Values.str(a) + Values.str(b);
            default:
                return arithmetic(op, Values.defined(a, line), Values.defined(b, line), line);
        }
    }

    private static Object arithmetic(String op, Object a, Object b, int line) {
        if (op.equals("+") && a instanceof String x && b instanceof String y) {
            return x + y;
        }
        if (op.equals("+") && a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> out = new ArrayList<>(x);
            out.addAll(y);
            return out;
        }
        if (op.equals("*") && (a instanceof String || b instanceof String) && (Values.isNumber(a) || Values.isNumber(b))) {
            String s = a instanceof String x ? x : (String) b;
            return s.repeat((int) Math.max(0, Values.asLong(a instanceof String ? b : a)));
        }
        if (!Values.isNumber(a) || !Values.isNumber(b)) {
            throw new TemplateException("unsupported operand type(s) for " + op + ": '" + Values.typeName(a)
                    + "' and '" + Values.typeName(b) + "'", line);
        }
        boolean floats = a instanceof Double || b instanceof Double;
        if (op.equals("/")) {
            return Values.asDouble(a) / nonZero(Values.asDouble(b), line);
        }
        if (floats) {
            double x = Values.asDouble(a);
            double y = Values.asDouble(b);
            return switch (op) {
                case "+" -> x + y;
                case "-" -> x - y;
                case "*" -> x * y;
                case "//" -> Math.floor(x / nonZero(y, line));
                case "%" -> x - Math.floor(x / nonZero(y, line)) * y;
                default -> Math.pow(x, y);
            };
        }
        long x = Values.asLong(a);
        long y = Values.asLong(b);
        return switch (op) {
            case "+" -> x + y;
            case "-" -> x - y;
            case "*" -> x * y;
            case "//" -> Math.floorDiv(x, (long) nonZero(y, line));
            case "%" -> Math.floorMod(x, (long) nonZero(y, line));
            default -> y >= 0 ? (Object) (long) Math.pow(x, y) : (Object) Math.pow(x, y);
        };
    }

    private static double nonZero(double y, int line) {
        if (y == 0) {
            throw new TemplateException("division by zero", line);
        }
        return y;
    }
}
