package dev.quiver.adapters.tokenizer;

/** A tokenizer could not be loaded or used; the message names the file or token involved. */
public final class TokenizerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that says what failed, where, and how to fix it. */
    public TokenizerException(String message) {
        super(message);
    }

    /** Creates the exception with a message and the underlying failure. */
    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
