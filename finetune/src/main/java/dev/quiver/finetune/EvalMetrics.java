package dev.quiver.finetune;

/** Validation loss (mean per target token) and mean token accuracy after {@code step} steps. */
public record EvalMetrics(int step, double loss, double tokenAccuracy, long targetTokens) {
}
