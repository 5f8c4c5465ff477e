package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;

/**
 * Cross-entropy of a batch's target tokens, summed rather than averaged so that a step can divide by
 * the target count of all its micro-batches at once.
 *
 * @param sum     the summed negative log-likelihood, a scalar that can be differentiated
 * @param correct how many targets are the argmax of their logits
 * @param targets how many target tokens there were
 */
public record TargetLoss(NDArray sum, long correct, int targets) {
}
