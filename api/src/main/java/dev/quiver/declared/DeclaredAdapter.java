package dev.quiver.declared;

/**
 * One adapter of the declared set: registered under {@code name} in the declared project from {@code source};
 * a pinned one stays loaded in a slot on every serving replica.
 */
public record DeclaredAdapter(String name, DeclaredSource source, boolean pinned) {
}
