package dev.quiver.adapters.tokenizer.jinja;

import dev.quiver.adapters.tokenizer.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Builds statements and expressions from tokens with Jinja2's grammar and operator precedence. */
final class Parser {
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", ">", "<=", ">=");

    private final List<Token> tokens;
    private int pos;
    private int loopDepth;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        List<Node> body = p.body(Set.of());
        if (p.peek().kind() != Kind.EOF) {
            Token t = p.peek();
            throw new TemplateException("unexpected '" + p.peekTagName() + "': no block is open here", t.line());
        }
        return body;
    }

    // ---- statements

    /** Statements up to (not including) a block tag whose name is in {@code ends}, or the end of input. */
    private List<Node> body(Set<String> ends) {
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case EOF:
                    return nodes;
                case TEXT:
                    pos++;
                    nodes.add(new Node.Text(t.text()));
                    break;
                case VARIABLE_BEGIN:
                    pos++;
                    nodes.add(new Node.Output(expression()));
                    expect(Kind.VARIABLE_END, "'}}'");
                    break;
                case BLOCK_BEGIN:
                    String name = peekTagName();
                    if (ends.contains(name)) {
                        return nodes;
                    }
                    nodes.add(statement(t.line()));
                    break;
                default:
                    throw new TemplateException("unexpected '" + t.text() + "'", t.line());
            }
        }
    }

    private Node statement(int line) {
        expect(Kind.BLOCK_BEGIN, "'{%'");
        Token nameToken = expect(Kind.NAME, "a tag name");
        String name = nameToken.text();
        switch (name) {
            case "if":
                return ifStatement();
            case "for":
                return forStatement(line);
            case "set":
                return setStatement(line);
            case "macro":
                return macro(line);
            case "generation": {
                endTag();
                List<Node> body = body(Set.of("endgeneration"));
                closing("endgeneration", "generation", line);
                return new Node.Generation(body);
            }
            case "break":
            case "continue":
                if (loopDepth == 0) {
                    throw new TemplateException("'" + name + "' outside of a for loop", line);
                }
                endTag();
                return new Node.LoopControl(name.equals("break") ? Node.Flow.BREAK : Node.Flow.CONTINUE);
            default:
                throw new TemplateException("unknown tag '" + name + "'"
                        + (name.startsWith("end") || name.equals("elif") || name.equals("else")
                                ? ": no matching block is open" : ": chat templates support if, for, set, macro, "
                                + "break, continue and generation"), line);
        }
    }

    private Node ifStatement() {
        int line = peek().line();
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        tests.add(expression());
        endTag();
        while (true) {
            bodies.add(body(Set.of("elif", "else", "endif")));
            if (peek().kind() == Kind.EOF) {
                throw new TemplateException("missing {% endif %} for the if opened here", line);
            }
            expect(Kind.BLOCK_BEGIN, "'{%'");
            String tag = expect(Kind.NAME, "a tag name").text();
            if (tag.equals("endif")) {
                endTag();
                return new Node.If(tests, bodies);
            }
            tests.add(tag.equals("elif") ? expression() : null);
            endTag();
            if (tag.equals("else")) {
                bodies.add(body(Set.of("endif")));
                closing("endif", "if", line);
                return new Node.If(tests, bodies);
            }
        }
    }

    private Node forStatement(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(expect(Kind.NAME, "a loop variable").text());
        while (accept(",")) {
            targets.add(expect(Kind.NAME, "a loop variable").text());
        }
        if (!peek().isName("in")) {
            throw new TemplateException("expected 'in' after the loop variables", peek().line());
        }
        pos++;
        Expr iterable = orExpr();
        Expr filter = null;
        if (peek().isName("if")) {
            pos++;
            filter = expression();
        }
        if (peek().isName("recursive")) {
            throw new TemplateException("recursive for loops are not supported in chat templates", line);
        }
        endTag();
        loopDepth++;
        List<Node> body = body(Set.of("else", "endfor"));
        loopDepth--;
        List<Node> otherwise = List.of();
        if (peekTagName().equals("else")) {
            pos += 2;
            endTag();
            otherwise = body(Set.of("endfor"));
        }
        closing("endfor", "for", line);
        return new Node.For(targets, iterable, filter, body, otherwise, line);
    }

    private Node setStatement(int line) {
        String name = expect(Kind.NAME, "a variable name").text();
        String attribute = null;
        if (accept(".")) {
            attribute = expect(Kind.NAME, "an attribute name").text();
        }
        if (peek().kind() == Kind.BLOCK_END) {
            endTag();
            List<Node> body = body(Set.of("endset"));
            closing("endset", "set", line);
            return new Node.Set(name, attribute, null, body, line);
        }
        expectOperator("=");
        Expr value = tupleOrExpression();
        endTag();
        return new Node.Set(name, attribute, value, null, line);
    }

    private Node macro(int line) {
        String name = expect(Kind.NAME, "a macro name").text();
        expectOperator("(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        while (!accept(")")) {
            if (!params.isEmpty()) {
                expectOperator(",");
                if (accept(")")) {
                    break;
                }
            }
            params.add(expect(Kind.NAME, "a parameter name").text());
            defaults.add(accept("=") ? expression() : null);
        }
        endTag();
        List<Node> body = body(Set.of("endmacro"));
        closing("endmacro", "macro", line);
        return new Node.Macro(name, params, defaults, body);
    }

    private void closing(String end, String opened, int line) {
        if (peek().kind() == Kind.EOF) {
            throw new TemplateException("missing {% " + end + " %} for the " + opened + " opened here", line);
        }
        expect(Kind.BLOCK_BEGIN, "'{%'");
        expect(Kind.NAME, end);
        endTag();
    }

    private void endTag() {
        expect(Kind.BLOCK_END, "'%}'");
    }

    // ---- expressions, lowest precedence first

    private Expr tupleOrExpression() {
        Expr first = expression();
        if (!peek().isOperator(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (accept(",")) {
            items.add(expression());
        }
        return new Expr.ListLiteral(items);
    }

    private Expr expression() {
        Expr e = orExpr();
        while (peek().isName("if")) {
            pos++;
            Expr test = orExpr();
            Expr otherwise = null;
            if (peek().isName("else")) {
                pos++;
                otherwise = expression();
            }
            e = new Expr.Conditional(test, e, otherwise);
        }
        return e;
    }

    private Expr orExpr() {
        Expr e = andExpr();
        while (peek().isName("or")) {
            pos++;
            e = new Expr.Logical(false, e, andExpr());
        }
        return e;
    }

    private Expr andExpr() {
        Expr e = notExpr();
        while (peek().isName("and")) {
            pos++;
            e = new Expr.Logical(true, e, notExpr());
        }
        return e;
    }

    private Expr notExpr() {
        if (peek().isName("not")) {
            pos++;
            return new Expr.Not(notExpr());
        }
        return compare();
    }

    private Expr compare() {
        int line = peek().line();
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OPERATOR && COMPARE.contains(t.text())) {
                pos++;
                ops.add(t.text());
            } else if (t.isName("in")) {
                pos++;
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                pos += 2;
                ops.add("not in");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first, ops, rest, line);
    }

    private Expr math1() {
        Expr e = concat();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            Token op = tokens.get(pos++);
            e = new Expr.Binary(op.text(), e, concat(), op.line());
        }
        return e;
    }

    private Expr concat() {
        Expr e = math2();
        while (peek().isOperator("~")) {
            Token op = tokens.get(pos++);
            e = new Expr.Binary("~", e, math2(), op.line());
        }
        return e;
    }

    private Expr math2() {
        Expr e = power();
        while (peek().isOperator("*") || peek().isOperator("/") || peek().isOperator("//") || peek().isOperator("%")) {
            Token op = tokens.get(pos++);
            e = new Expr.Binary(op.text(), e, power(), op.line());
        }
        return e;
    }

    private Expr power() {
        Expr e = unary(true);
        while (peek().isOperator("**")) {
            Token op = tokens.get(pos++);
            e = new Expr.Binary("**", e, unary(true), op.line());
        }
        return e;
    }

    private Expr unary(boolean withFilter) {
        Token t = peek();
        Expr e;
        if (t.isOperator("-")) {
            pos++;
            e = new Expr.Negate(unary(false), t.line());
        } else if (t.isOperator("+")) {
            pos++;
            e = unary(false);
        } else {
            e = postfix(primary());
        }
        return withFilter ? filters(e) : e;
    }

    private Expr filters(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOperator("|")) {
                pos++;
                Token name = expect(Kind.NAME, "a filter name");
                String filter = dotted(name.text());
                if (!Filters.NAMES.contains(filter)) {
                    throw new TemplateException("no filter named '" + filter + "'", name.line());
                }
                List<Expr> args = new ArrayList<>();
                Map<String, Expr> kwargs = new LinkedHashMap<>();
                if (accept("(")) {
                    arguments(args, kwargs);
                }
                e = postfix(new Expr.Filter(e, filter, args, kwargs, name.line()));
            } else if (t.isName("is")) {
                pos++;
                boolean negated = false;
                if (peek().isName("not")) {
                    pos++;
                    negated = true;
                }
                Token name = peek();
                String test;
                if (name.kind() == Kind.NAME || (name.kind() == Kind.OPERATOR && Tests.NAMES.contains(name.text()))) {
                    pos++;
                    test = name.kind() == Kind.NAME ? dotted(name.text()) : name.text();
                } else {
                    throw new TemplateException("expected a test name after 'is'", name.line());
                }
                if (!Tests.NAMES.contains(test)) {
                    throw new TemplateException("no test named '" + test + "'", name.line());
                }
                List<Expr> args = new ArrayList<>();
                if (accept("(")) {
                    arguments(args, new LinkedHashMap<>());
                } else if (startsPrimary(peek())) {
                    args.add(postfix(primary()));
                }
                e = new Expr.Test(e, test, args, negated, name.line());
            } else {
                return e;
            }
        }
    }

    private String dotted(String first) {
        StringBuilder name = new StringBuilder(first);
        while (peek().isOperator(".") && peek(1).kind() == Kind.NAME) {
            name.append('.').append(tokens.get(pos + 1).text());
            pos += 2;
        }
        return name.toString();
    }

    private boolean startsPrimary(Token t) {
        return switch (t.kind()) {
            case STRING, INTEGER, FLOAT -> true;
            case NAME -> !Set.of("else", "or", "and", "if", "in", "not", "is").contains(t.text());
            case OPERATOR -> t.text().equals("[") || t.text().equals("{");
            default -> false;
        };
    }

    private Expr postfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOperator(".")) {
                pos++;
                Token name = tokens.get(pos++);
                if (name.kind() == Kind.INTEGER) {
                    e = new Expr.Item(e, new Expr.Literal(Long.parseLong(name.text())), name.line());
                } else if (name.kind() == Kind.NAME) {
                    e = new Expr.Attribute(e, name.text(), name.line());
                } else {
                    throw new TemplateException("expected an attribute name after '.'", name.line());
                }
            } else if (t.isOperator("[")) {
                pos++;
                e = subscript(e, t.line());
            } else if (t.isOperator("(")) {
                pos++;
                List<Expr> args = new ArrayList<>();
                Map<String, Expr> kwargs = new LinkedHashMap<>();
                arguments(args, kwargs);
                e = new Expr.Call(e, args, kwargs, t.line());
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr target, int line) {
        Expr[] parts = new Expr[3];
        int part = 0;
        boolean slice = false;
        while (!accept("]")) {
            if (accept(":")) {
                slice = true;
                if (++part > 2) {
                    throw new TemplateException("a slice has at most three parts", line);
                }
            } else {
                parts[part] = expression();
            }
        }
        if (!slice) {
            if (parts[0] == null) {
                throw new TemplateException("expected an index inside '[]'", line);
            }
            return new Expr.Item(target, parts[0], line);
        }
        return new Expr.Slice(target, parts[0], parts[1], parts[2], line);
    }

    /** Call arguments after '(' up to and including ')'. */
    private void arguments(List<Expr> args, Map<String, Expr> kwargs) {
        while (!accept(")")) {
            if (!args.isEmpty() || !kwargs.isEmpty()) {
                expectOperator(",");
                if (accept(")")) {
                    return;
                }
            }
            if (peek().kind() == Kind.NAME && peek(1).isOperator("=")) {
                String key = tokens.get(pos).text();
                pos += 2;
                kwargs.put(key, expression());
            } else {
                if (!kwargs.isEmpty()) {
                    throw new TemplateException("positional argument after a keyword argument", peek().line());
                }
                args.add(expression());
            }
        }
    }

    private Expr primary() {
        Token t = tokens.get(pos++);
        switch (t.kind()) {
            case NAME:
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Literal(true);
                    case "false", "False" -> new Expr.Literal(false);
                    case "none", "None" -> new Expr.Literal(null);
                    default -> new Expr.Name(t.text(), t.line());
                };
            case STRING:
                StringBuilder s = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) {
                    s.append(tokens.get(pos++).text()); // adjacent literals concatenate, as in Python
                }
                return new Expr.Literal(s.toString());
            case INTEGER:
                return new Expr.Literal(Long.parseLong(t.text()));
            case FLOAT:
                return new Expr.Literal(Double.parseDouble(t.text()));
            case OPERATOR:
                if (t.text().equals("(")) {
                    if (accept(")")) {
                        return new Expr.ListLiteral(List.of());
                    }
                    Expr e = tupleOrExpression();
                    expectOperator(")");
                    return e;
                }
                if (t.text().equals("[")) {
                    List<Expr> items = new ArrayList<>();
                    while (!accept("]")) {
                        if (!items.isEmpty()) {
                            expectOperator(",");
                            if (accept("]")) {
                                break;
                            }
                        }
                        items.add(expression());
                    }
                    return new Expr.ListLiteral(items);
                }
                if (t.text().equals("{")) {
                    List<Expr> keys = new ArrayList<>();
                    List<Expr> values = new ArrayList<>();
                    while (!accept("}")) {
                        if (!keys.isEmpty()) {
                            expectOperator(",");
                            if (accept("}")) {
                                break;
                            }
                        }
                        keys.add(expression());
                        expectOperator(":");
                        values.add(expression());
                    }
                    return new Expr.DictLiteral(keys, values);
                }
                break;
            default:
                break;
        }
        throw new TemplateException("unexpected " + describe(t) + " in an expression", t.line());
    }

    // ---- token helpers

    private Token peek() {
        return tokens.get(pos);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    private String peekTagName() {
        Token t = peek(1);
        return peek().kind() == Kind.BLOCK_BEGIN && t.kind() == Kind.NAME ? t.text() : "";
    }

    private boolean accept(String op) {
        if (peek().isOperator(op)) {
            pos++;
            return true;
        }
        return false;
    }

    private void expectOperator(String op) {
        if (!accept(op)) {
            throw new TemplateException("expected '" + op + "' but found " + describe(peek()), peek().line());
        }
    }

    private Token expect(Kind kind, String what) {
        Token t = peek();
        boolean ok = t.kind() == kind && (kind != Kind.NAME || !what.startsWith("end") || t.text().equals(what));
        if (!ok) {
            throw new TemplateException("expected " + what + " but found " + describe(t), t.line());
        }
        pos++;
        return t;
    }

    private static String describe(Token t) {
        return switch (t.kind()) {
            case EOF -> "the end of the template";
            case BLOCK_END -> "'%}'";
            case VARIABLE_END -> "'}}'";
            case TEXT -> "template text";
            case STRING -> "string " + Strings.repr(t.text());
            default -> "'" + t.text() + "'";
        };
    }
}
