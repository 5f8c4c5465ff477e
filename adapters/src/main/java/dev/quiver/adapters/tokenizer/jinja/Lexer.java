package dev.quiver.adapters.tokenizer.jinja;

import dev.quiver.adapters.tokenizer.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits template source into tokens as Jinja2's lexer does with {@code trim_blocks} and {@code lstrip_blocks}
 * on: whitespace control ({@code -}, {@code +}) and both options are applied here, so the parser sees final text.
 */
final class Lexer {
    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{",
        "}", ",", ".", ":", "|"
    };

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;

    private Lexer(String source) {
        // Jinja2 normalises newlines and, without keep_trailing_newline, drops one trailing newline.
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        this.src = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    static List<Token> tokenize(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.out;
    }

    private void run() {
        boolean lineStarting = true;
        while (pos < src.length()) {
            int tag = nextTag(pos);
            String text = src.substring(pos, tag < 0 ? src.length() : tag);
            int textLine = line;
            line += count(text, '\n');
            if (tag < 0) {
                emitText(text, textLine);
                break;
            }
            char type = src.charAt(tag + 1);
            char sign = tag + 2 < src.length() ? src.charAt(tag + 2) : ' ';
            if (sign == '-') {
                text = rstrip(text);
            } else if (sign != '+' && type != '{') {
                int lineStart = text.lastIndexOf('\n') + 1;
                if ((lineStart > 0 || lineStarting) && isBlank(text, lineStart)) {
                    text = text.substring(0, lineStart);
                }
            }
            emitText(text, textLine);
            pos = tag + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            String end = switch (type) {
                case '{' -> tagBody(Kind.VARIABLE_BEGIN, Kind.VARIABLE_END, "}}");
                case '%' -> tagBody(Kind.BLOCK_BEGIN, Kind.BLOCK_END, "%}");
                default -> comment();
            };
            boolean stripNext = end.startsWith("-");
            boolean keep = end.startsWith("+");
            if (!stripNext && !keep && type != '{' && pos < src.length() && src.charAt(pos) == '\n') {
                pos++; // trim_blocks: the first newline after a block or comment tag goes
                line++;
                lineStarting = true;
            } else {
                lineStarting = false;
            }
            if (stripNext) {
                int after = pos;
                while (pos < src.length() && Strings.isSpace(src.charAt(pos))) {
                    pos++;
                }
                String eaten = src.substring(after, pos);
                line += count(eaten, '\n');
                lineStarting = eaten.endsWith("\n");
            }
        }
        out.add(new Token(Kind.EOF, "", line));
    }

    /** Skips a comment; returns its end marker. */
    private String comment() {
        int start = line;
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new TemplateException("missing end of comment tag '#}'", start);
        }
        String marker = end > pos && (src.charAt(end - 1) == '-' || src.charAt(end - 1) == '+')
                ? src.charAt(end - 1) + "#}" : "#}";
        line += count(src.substring(pos, end), '\n');
        pos = end + 2;
        return marker;
    }

    private String tagBody(Kind begin, Kind endKind, String close) {
        int startLine = line;
        out.add(new Token(begin, "", startLine));
        int depth = 0;
        while (true) {
            skipSpace();
            if (pos >= src.length()) {
                throw new TemplateException("unexpected end of template: a tag opened here was not closed with '"
                        + close + "'", startLine);
            }
            if (depth == 0) {
                for (String marker : new String[] {"-" + close, "+" + close, close}) {
                    if (src.startsWith(marker, pos) && (marker.charAt(0) != '+' || endKind == Kind.BLOCK_END)) {
                        out.add(new Token(endKind, "", line));
                        pos += marker.length();
                        return marker;
                    }
                }
            }
            char c = src.charAt(pos);
            if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                out.add(new Token(Kind.NAME, src.substring(s, pos), line));
            } else if (Character.isDigit(c)) {
                number();
            } else if (c == '\'' || c == '"') {
                string(c);
            } else {
                String op = operator();
                if ("([{".contains(op)) {
                    depth++;
                } else if (")]}".contains(op)) {
                    depth--;
                }
                out.add(new Token(Kind.OPERATOR, op, line));
            }
        }
    }

    private String operator() {
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                pos += op.length();
                return op;
            }
        }
        throw new TemplateException("unexpected character '" + src.charAt(pos) + "' inside a tag", line);
    }

    private void number() {
        int s = pos;
        digits();
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            pos++;
            digits();
            isFloat = true;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int mark = pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                digits();
                isFloat = true;
            } else {
                pos = mark;
            }
        }
        String text = src.substring(s, pos).replace("_", "");
        out.add(new Token(isFloat ? Kind.FLOAT : Kind.INTEGER, text, line));
    }

    private void digits() {
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
    }

    private void string(char quote) {
        int startLine = line;
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw new TemplateException("unterminated string literal", startLine);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case '0' -> sb.append('\0');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'a' -> sb.append('\u0007');
                case 'v' -> sb.append('\u000b');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> line++; // a backslash-newline joins lines, as in Python
                case 'x' -> sb.append((char) hex(2));
                case 'u' -> sb.append((char) hex(4));
                case 'U' -> sb.appendCodePoint(hex(8));
                default -> sb.append('\\').append(e); // Python keeps unknown escapes as written
            }
        }
        out.add(new Token(Kind.STRING, sb.toString(), startLine));
    }

    private int hex(int n) {
        if (pos + n > src.length()) {
            throw new TemplateException("truncated \\x, \\u or \\U escape in a string literal", line);
        }
        int v = Integer.parseInt(src.substring(pos, pos + n), 16);
        pos += n;
        return v;
    }

    private void skipSpace() {
        while (pos < src.length() && Strings.isSpace(src.charAt(pos))) {
            if (src.charAt(pos) == '\n') {
                line++;
            }
            pos++;
        }
    }

    private int nextTag(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    private void emitText(String text, int textLine) {
        if (!text.isEmpty()) {
            out.add(new Token(Kind.TEXT, text, textLine));
        }
    }

    private static boolean isBlank(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!Strings.isSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && Strings.isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    private static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                n++;
            }
        }
        return n;
    }
}
