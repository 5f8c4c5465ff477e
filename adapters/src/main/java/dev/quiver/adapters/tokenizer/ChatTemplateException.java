package dev.quiver.adapters.tokenizer;

/** A chat template could not be loaded or rendered, or it called {@code raise_exception}. */
public final class ChatTemplateException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that says what failed, where, and how to fix it. */
    public ChatTemplateException(String message) {
        super(message);
    }

    /** Creates the exception with a message and the underlying failure. */
    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
