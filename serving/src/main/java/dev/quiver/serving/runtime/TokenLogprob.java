package dev.quiver.serving.runtime;

/** A token and its log-probability under the model's (untempered) distribution. */
public record TokenLogprob(int tokenId, double logprob) {
}
