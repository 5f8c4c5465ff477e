package dev.quiver.finetune;

/** One optimizer step in the loss curve ({@code step} counts from 1). */
public record StepMetrics(int step, int epoch, double loss, double tokenAccuracy, double learningRate, double gradNorm,
                          long tokens) {
}
