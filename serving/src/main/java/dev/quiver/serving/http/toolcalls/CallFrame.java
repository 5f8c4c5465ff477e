package dev.quiver.serving.http.toolcalls;

/**
 * How one call is spelled in a family's format, for decoding an answer that must be a call:
 * {@code prefix + {"name": ..., <argumentsKey>: {...}} + suffix}.
 */
public record CallFrame(String prefix, String argumentsKey, String suffix) {
}
