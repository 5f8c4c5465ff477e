package dev.quiver.declared;

/** The declared file cannot be read as a whole; the message names the file and the field. */
public class DeclaredFileException extends Exception {
    public DeclaredFileException(String message) {
        super(message);
    }

    public DeclaredFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
