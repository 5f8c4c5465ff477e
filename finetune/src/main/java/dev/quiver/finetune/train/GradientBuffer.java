package dev.quiver.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;

/** One step's gradients, summed over its micro-batches, then clipped by their global norm. */
final class GradientBuffer {
    private final List<NDArray> sums = new ArrayList<>();

    GradientBuffer(List<NDArray> params, NDManager manager) {
        for (NDArray p : params) {
            sums.add(manager.zeros(p.getShape(), p.getDataType()));
        }
    }

    /** Adds the gradients of a micro-batch's leaves (same order as the parameters). */
    void add(List<NDArray> leaves) {
        for (int i = 0; i < sums.size(); i++) {
            sums.get(i).addi(leaves.get(i).getGradient());
        }
    }

    /**
     * Scales the gradients down so their global L2 norm is at most {@code maxNorm}, as
     * {@code torch.nn.utils.clip_grad_norm_}, and returns the norm before clipping.
     */
    double clip(double maxNorm) {
        double squares = 0;
        try (NDScope scope = new NDScope()) {
            for (NDArray g : sums) {
                double n = g.norm().getFloat();
                squares += n * n;
            }
        }
        double norm = Math.sqrt(squares);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1) {
            for (NDArray g : sums) {
                g.muli((float) coefficient);
            }
        }
        return norm;
    }

    List<NDArray> gradients() {
        return sums;
    }

    void zero() {
        for (NDArray g : sums) {
            g.muli(0f);
        }
    }
}
