package dev.quiver.adapters.model;

import java.io.IOException;
import java.nio.file.Path;

/** A model directory that Quiver cannot load as it is; the message names the file and the fix. */
public class ModelFormatException extends IOException {
    public ModelFormatException(Path file, String message) {
        super(file + ": " + message);
    }
}
