/**
 * Constrained decoding: JSON Schema, choices and regexes compiled to byte automata over a tokenizer's
 * vocabulary, with a lazily built, cached token mask per automaton state.
 */
package dev.quiver.serving.constraint;
