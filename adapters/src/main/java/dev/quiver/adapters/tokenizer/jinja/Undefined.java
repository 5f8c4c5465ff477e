package dev.quiver.adapters.tokenizer.jinja;

/** Jinja2's default {@code Undefined}: empty when printed, false, iterable as empty; any other use is an error. */
final class Undefined {
    private final String hint;

    Undefined(String hint) {
        this.hint = hint;
    }

    /** Jinja2's message for using this value: {@code 'x' is undefined} or {@code 'dict object' has no attribute 'x'}. */
    String hint() {
        return hint;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Undefined;
    }

    @Override
    public int hashCode() {
        return 0;
    }

    @Override
    public String toString() {
        return "";
    }
}
