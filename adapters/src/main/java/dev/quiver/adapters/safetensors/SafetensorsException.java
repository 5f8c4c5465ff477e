package dev.quiver.adapters.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file that is malformed or does not hold what the caller asked for; names the file. */
public class SafetensorsException extends IOException {
    public SafetensorsException(Path file, String message) {
        super(file + ": " + message);
    }
}
