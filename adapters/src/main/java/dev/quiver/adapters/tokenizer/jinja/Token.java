package dev.quiver.adapters.tokenizer.jinja;

/** One lexical token of a template, with the 1-based source line it starts on. */
record Token(Kind kind, String text, int line) {

    /** What a token is; OPERATOR covers punctuation and operators alike. */
    enum Kind { TEXT, VARIABLE_BEGIN, VARIABLE_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF }

    boolean is(Kind k, String t) {
        return kind == k && text.equals(t);
    }

    boolean isOperator(String t) {
        return is(Kind.OPERATOR, t);
    }

    boolean isName(String t) {
        return is(Kind.NAME, t);
    }
}
