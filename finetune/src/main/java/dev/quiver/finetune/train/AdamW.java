package dev.quiver.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} computes it (decoupled weight decay, bias-corrected moments), with
 * its state kept in plain arrays so a checkpoint can save and restore it exactly. DJL's own Adam hides
 * its state, which would make resumed runs drift from uninterrupted ones.
 */
final class AdamW {
    static final float BETA1 = 0.9f;
    static final float BETA2 = 0.999f;
    static final float EPSILON = 1e-8f;

    private final NDManager manager;
    private final List<NDArray> params;
    private final List<NDArray> expAvg = new ArrayList<>();
    private final List<NDArray> expAvgSq = new ArrayList<>();
    private final double weightDecay;
    private int step;

    AdamW(List<NDArray> params, NDManager manager, double weightDecay) {
        this.manager = manager;
        this.params = List.copyOf(params);
        this.weightDecay = weightDecay;
        for (NDArray p : params) {
            expAvg.add(manager.zeros(p.getShape(), p.getDataType()));
            expAvgSq.add(manager.zeros(p.getShape(), p.getDataType()));
        }
    }

    /** One update with learning rate {@code lr}; {@code grads} line up with the parameters. */
    void update(List<NDArray> grads, double lr) {
        step++;
        double bias1 = 1 - Math.pow(BETA1, step);
        double bias2 = 1 - Math.pow(BETA2, step);
        float stepSize = (float) (lr / bias1);
        float bias2Sqrt = (float) Math.sqrt(bias2);
        for (int i = 0; i < params.size(); i++) {
            try (NDScope scope = new NDScope()) {
                NDArray p = params.get(i);
                NDArray g = grads.get(i);
                NDArray m = expAvg.get(i);
                NDArray v = expAvgSq.get(i);
                if (weightDecay != 0) {
                    p.muli((float) (1 - lr * weightDecay));
                }
                m.muli(BETA1).addi(g.mul(1 - BETA1));
                v.muli(BETA2).addi(g.square().muli(1 - BETA2));
                NDArray denom = v.sqrt().divi(bias2Sqrt).addi(EPSILON);
                p.subi(m.div(denom).muli(stepSize));
            }
        }
    }

    int step() {
        return step;
    }

    List<NDArray> expAvg() {
        return expAvg;
    }

    List<NDArray> expAvgSq() {
        return expAvgSq;
    }

    /** Restores the state a checkpoint saved. */
    void restore(int step, List<float[]> avg, List<float[]> avgSq) {
        if (avg.size() != params.size() || avgSq.size() != params.size()) {
            throw new IllegalArgumentException("optimizer state has " + avg.size() + " tensors for "
                    + params.size() + " parameters");
        }
        this.step = step;
        for (int i = 0; i < params.size(); i++) {
            // fresh arrays rather than set(): libtorch warns about the legacy dispatch mode set() uses
            expAvg.set(i, replace(expAvg.get(i), avg.get(i)));
            expAvgSq.set(i, replace(expAvgSq.get(i), avgSq.get(i)));
        }
    }

    private NDArray replace(NDArray old, float[] values) {
        NDArray fresh = manager.create(values, old.getShape());
        old.close();
        return fresh;
    }
}
