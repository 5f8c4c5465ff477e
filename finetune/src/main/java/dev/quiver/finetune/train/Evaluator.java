package dev.quiver.finetune.train;

import ai.djl.ndarray.NDScope;
import dev.quiver.finetune.EvalMetrics;
import dev.quiver.finetune.data.Batch;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.finetune.model.LoraTensors;
import dev.quiver.finetune.model.TargetLoss;
import java.util.List;

/** Validation loss and mean token accuracy over fixed micro-batches, with dropout off. */
final class Evaluator {
    private final CausalLm model;
    private final List<Batch> batches;

    Evaluator(CausalLm model, List<Batch> batches) {
        this.model = model;
        this.batches = List.copyOf(batches);
    }

    EvalMetrics evaluate(int step, LoraTensors lora) {
        double lossSum = 0;
        long correct = 0;
        long targets = 0;
        for (Batch b : batches) {
            try (NDScope scope = new NDScope()) {
                TargetLoss loss = model.targetLoss(b.tokens(), b.targets(), lora, false);
                lossSum += loss.sum().getFloat();
                correct += loss.correct();
                targets += loss.targets();
            }
        }
        return new EvalMetrics(step, lossSum / targets, (double) correct / targets, targets);
    }
}
