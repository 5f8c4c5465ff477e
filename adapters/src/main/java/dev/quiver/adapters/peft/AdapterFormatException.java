package dev.quiver.adapters.peft;

import java.io.IOException;

/** A PEFT adapter that cannot be read, or does not fit the base model; the message says which tensor and why. */
public class AdapterFormatException extends IOException {
    public AdapterFormatException(String message) {
        super(message);
    }
}
