package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicAutomata;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the regular-expression dialect JSON Schema's {@code pattern} and vLLM's {@code guided_regex} use
 * (ECMA-262 / Python without the non-regular parts) into an automaton of the whole match: alternation, groups,
 * greedy and lazy quantifiers, {@code {n,m}}, classes with ranges and negation, {@code . \d \w \s} and their
 * negations, and {@code ^ $} at the ends. Lookaround and back-references are refused, as they are not regular.
 */
final class RegexParser {
    private final String regex;
    private final String path;
    private final String keyword;
    private int pos;

    private RegexParser(String regex, String path, String keyword) {
        this.regex = Chars.requireBmp(regex, path, keyword);
        this.path = path;
        this.keyword = keyword;
    }

    /** The strings {@code regex} matches in full. */
    static Automaton parse(String regex, String path, String keyword) {
        RegexParser p = new RegexParser(regex, path, keyword);
        if (p.peek('^')) {
            p.pos++;
        }
        Automaton a = p.alternation();
        if (p.pos < regex.length()) {
            throw p.error("unbalanced ')' at offset " + p.pos);
        }
        return a;
    }

    private Automaton alternation() {
        List<Automaton> branches = new ArrayList<>();
        branches.add(sequence());
        while (peek('|')) {
            pos++;
            branches.add(sequence());
        }
        return branches.size() == 1 ? branches.get(0) : Automaton.union(branches);
    }

    private Automaton sequence() {
        List<Automaton> parts = new ArrayList<>();
        while (pos < regex.length() && !peek('|') && !peek(')')) {
            if (peek('$')) {
                pos++;
                if (pos < regex.length() && !peek('|') && !peek(')')) {
                    throw error("'$' is supported only at the end of the pattern");
                }
                continue;
            }
            if (peek('^')) {
                throw error("'^' is supported only at the start of the pattern");
            }
            parts.add(quantified(atom()));
        }
        return parts.isEmpty() ? BasicAutomata.makeEmptyString() : Automaton.concatenate(parts);
    }

    private Automaton quantified(Automaton atom) {
        while (pos < regex.length()) {
            char c = regex.charAt(pos);
            Automaton next;
            if (c == '*') {
                pos++;
                next = atom.repeat();
            } else if (c == '+') {
                pos++;
                next = atom.repeat(1);
            } else if (c == '?') {
                pos++;
                next = atom.optional();
            } else if (c == '{' && isBrace()) {
                pos++;
                int min = number();
                int max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? -1 : number();
                }
                expect('}');
                if (max >= 0 && max < min) {
                    throw error("quantifier {" + min + "," + max + "} has max below min");
                }
                next = max < 0 ? atom.repeat(min) : atom.repeat(min, max);
            } else {
                return atom;
            }
            if (peek('?') || peek('+')) {
                pos++; // lazy or possessive: the same language
            }
            atom = next;
        }
        return atom;
    }

    private boolean isBrace() {
        int end = regex.indexOf('}', pos);
        return end > pos + 1 && regex.substring(pos + 1, end).matches("\\d+(,\\d*)?");
    }

    private Automaton atom() {
        char c = regex.charAt(pos++);
        switch (c) {
            case '(' -> {
                if (peek('?')) {
                    pos++;
                    if (peek(':')) {
                        pos++;
                    } else if (peek('<') && pos + 1 < regex.length() && Character.isLetter(regex.charAt(pos + 1))) {
                        pos = regex.indexOf('>', pos) + 1;
                        if (pos == 0) {
                            throw error("unterminated group name");
                        }
                    } else if (peek('P') && pos + 1 < regex.length() && regex.charAt(pos + 1) == '<') {
                        pos = regex.indexOf('>', pos) + 1;
                        if (pos == 0) {
                            throw error("unterminated group name");
                        }
                    } else {
                        throw error("lookaround and inline flags ('(?" + (pos < regex.length() ? regex.charAt(pos)
                                : "") + "') are not supported: they are not regular");
                    }
                }
                Automaton inner = alternation();
                expect(')');
                return inner;
            }
            case '[' -> {
                return charClass();
            }
            case '.' -> {
                return Chars.anyExcept(BasicAutomata.makeChar('\n'));
            }
            case '\\' -> {
                return escape(false);
            }
            case '*', '+', '?' -> throw error("nothing to repeat before '" + c + "' at offset " + (pos - 1));
            default -> {
                return BasicAutomata.makeChar(c);
            }
        }
    }

    private Automaton charClass() {
        boolean negated = peek('^');
        if (negated) {
            pos++;
        }
        List<Automaton> members = new ArrayList<>();
        boolean first = true;
        while (pos < regex.length() && (first || !peek(']'))) {
            first = false;
            Automaton member;
            char lo;
            if (peek('\\')) {
                pos++;
                member = escape(true);
                lo = singleChar(member);
            } else {
                lo = regex.charAt(pos++);
                member = BasicAutomata.makeChar(lo);
            }
            if (peek('-') && pos + 1 < regex.length() && regex.charAt(pos + 1) != ']' && lo != 0xFFFF) {
                pos++;
                char hi;
                if (peek('\\')) {
                    pos++;
                    hi = singleChar(escape(true));
                } else {
                    hi = regex.charAt(pos++);
                }
                if (hi == 0xFFFF || lo == 0xFFFF) {
                    throw error("a class range must join two single characters");
                }
                if (hi < lo) {
                    throw error("class range " + lo + "-" + hi + " is out of order");
                }
                member = BasicAutomata.makeCharRange(lo, hi);
            }
            members.add(member);
        }
        expect(']');
        Automaton set = members.isEmpty() ? BasicAutomata.makeEmpty() : Automaton.union(members);
        return negated ? Chars.anyExcept(set) : set;
    }

    /** The one character {@code a} accepts, or U+FFFF when it is a class such as {@code \d}. */
    private static char singleChar(Automaton a) {
        String s = a.getSingleton();
        return s != null && s.length() == 1 ? s.charAt(0) : '\uFFFF';
    }

    private Automaton escape(boolean inClass) {
        if (pos >= regex.length()) {
            throw error("the pattern ends in a lone backslash");
        }
        char c = regex.charAt(pos++);
        Automaton digit = BasicAutomata.makeCharRange('0', '9');
        Automaton word = Automaton.union(List.of(digit, BasicAutomata.makeCharRange('a', 'z'),
                BasicAutomata.makeCharRange('A', 'Z'), BasicAutomata.makeChar('_')));
        Automaton space = BasicAutomata.makeCharSet(" \t\n\r\f\u000B");
        return switch (c) {
            case 'd' -> digit;
            case 'D' -> Chars.anyExcept(digit);
            case 'w' -> word;
            case 'W' -> Chars.anyExcept(word);
            case 's' -> space;
            case 'S' -> Chars.anyExcept(space);
            case 'n' -> BasicAutomata.makeChar('\n');
            case 't' -> BasicAutomata.makeChar('\t');
            case 'r' -> BasicAutomata.makeChar('\r');
            case 'f' -> BasicAutomata.makeChar('\f');
            case 'v' -> BasicAutomata.makeChar('\u000B');
            case '0' -> BasicAutomata.makeChar('\0');
            case 'b' -> {
                if (inClass) {
                    yield BasicAutomata.makeChar('\b');
                }
                throw error("word boundaries (\\b) are not supported");
            }
            case 'u' -> BasicAutomata.makeChar(hex(4));
            case 'x' -> BasicAutomata.makeChar(hex(2));
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw error("escape \\" + c + " is not supported (back-references, \\p classes and anchors"
                            + " other than ^ $ are not regular or not implemented)");
                }
                yield BasicAutomata.makeChar(c);
            }
        };
    }

    private char hex(int digits) {
        if (pos + digits > regex.length()) {
            throw error("incomplete hex escape");
        }
        try {
            char c = (char) Integer.parseInt(regex.substring(pos, pos + digits), 16);
            pos += digits;
            if (Character.isSurrogate(c)) {
                throw error("characters beyond U+FFFF are not supported");
            }
            return c;
        } catch (NumberFormatException e) {
            throw error("bad hex escape '" + regex.substring(pos, pos + digits) + "'");
        }
    }

    private int number() {
        int start = pos;
        while (pos < regex.length() && Character.isDigit(regex.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number at offset " + start);
        }
        int n = Integer.parseInt(regex.substring(start, pos));
        if (n > 1000) {
            throw error("repetition count " + n + " is above 1000");
        }
        return n;
    }

    private boolean peek(char c) {
        return pos < regex.length() && regex.charAt(pos) == c;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw error("expected '" + c + "' at offset " + pos);
        }
        pos++;
    }

    private ConstraintException error(String message) {
        return new ConstraintException(path, keyword, keyword + " /" + regex + "/: " + message);
    }
}
