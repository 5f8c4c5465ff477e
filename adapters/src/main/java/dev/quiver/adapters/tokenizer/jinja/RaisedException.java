package dev.quiver.adapters.tokenizer.jinja;

/** The template itself called {@code raise_exception(message)}; the message is the template's, verbatim. */
public final class RaisedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RaisedException(String message) {
        super(message);
    }
}
