package dev.quiver.serving.runtime;

/**
 * Receives a generation as it happens. Called on the engine's thread: hand work off instead of blocking,
 * since every sequence in the batch waits for the callback to return.
 */
public interface GenerationListener {
    /** A listener that ignores the stream (for callers that only want the final {@link Completion}). */
    GenerationListener NONE = new GenerationListener() {
    };

    default void onToken(GeneratedToken token) {
    }

    /** The last call for a successful generation; {@code completion.text()} is the whole text. */
    default void onComplete(Completion completion) {
    }

    /** The last call for a failed one (unknown adapter, prompt too long, runtime failure). */
    default void onError(Throwable error) {
    }
}
