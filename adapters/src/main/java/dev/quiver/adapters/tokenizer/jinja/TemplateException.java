package dev.quiver.adapters.tokenizer.jinja;

/** A template that cannot be parsed or failed while rendering; the message names the template line. */
public class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int line;

    public TemplateException(String message, int line) {
        super("line " + line + ": " + message);
        this.line = line;
    }

    /** The 1-based template line of the failure. */
    public int line() {
        return line;
    }
}
