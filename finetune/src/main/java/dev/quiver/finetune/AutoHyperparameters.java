package dev.quiver.finetune;

import dev.quiver.adapters.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Chooses {@code auto} hyperparameters from the dataset size the way hosted fine-tuning services do.
 * Epochs follow OpenAI's published rule: 3, raised so that small sets are seen at least 100 times in
 * all and lowered so that big ones stop near 25,000 example passes. The batch size is about 0.2% of the
 * examples (1 to 256). The learning rate is the usual LoRA 2e-4, scaled with the square root of the batch
 * size relative to 8 and kept within [1e-4, 4e-4].
 */
public final class AutoHyperparameters {
    static final int TARGET_EPOCHS = 3;
    static final int MIN_TARGET_EXAMPLES = 100;
    static final int MAX_TARGET_EXAMPLES = 25_000;
    static final int MAX_AUTO_EPOCHS = 25;
    static final int MAX_AUTO_BATCH = 256;
    static final double BASE_LEARNING_RATE = 2e-4;
    static final int MAX_AUTO_SEQ_LENGTH = 2048;

    private AutoHyperparameters() {
    }

    /** Fills in every auto setting for a training set of {@code trainExamples} examples. */
    public static ResolvedHyperparameters resolve(Hyperparameters h, int trainExamples, ModelConfig model) {
        if (trainExamples <= 0) {
            throw new IllegalArgumentException("no training examples");
        }
        Map<String, String> why = new LinkedHashMap<>();
        int epochs = h.nEpochs() != null ? h.nEpochs() : epochs(trainExamples, why);
        int batch = h.batchSize() != null ? h.batchSize() : batchSize(trainExamples, why);
        batch = Math.min(batch, trainExamples);
        double lr = h.learningRate() != null ? h.learningRate() : learningRate(batch, why);
        int maxLen;
        if (h.maxSeqLength() != null) {
            if (h.maxSeqLength() > model.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("max_seq_length " + h.maxSeqLength()
                        + " exceeds the model's max_position_embeddings " + model.maxPositionEmbeddings());
            }
            maxLen = h.maxSeqLength();
        } else {
            maxLen = Math.min(model.maxPositionEmbeddings(), MAX_AUTO_SEQ_LENGTH);
            why.put("max_seq_length", maxLen + ": the model's limit, at most " + MAX_AUTO_SEQ_LENGTH);
        }
        int totalSteps = epochs * ResolvedHyperparameters.stepsPerEpoch(trainExamples, batch);
        int evalInterval;
        if (h.evalInterval() != null) {
            evalInterval = h.evalInterval();
        } else {
            evalInterval = Math.max(1, totalSteps / 10);
            why.put("eval_interval", evalInterval + ": about ten evaluations over " + totalSteps + " steps");
        }
        int warmup = (int) Math.round(h.warmupRatio() * totalSteps);
        return new ResolvedHyperparameters(epochs, batch, lr, h.loraRank(), h.loraAlpha(), h.loraDropout(),
                h.useRslora(), h.resolvedTargetModules(), h.warmupRatio(), h.weightDecay(), h.maxGradNorm(), maxLen,
                h.microBatchTokens(), h.packing(), evalInterval, totalSteps, warmup, why);
    }

    private static int epochs(int n, Map<String, String> why) {
        int epochs = TARGET_EPOCHS;
        if ((long) n * TARGET_EPOCHS < MIN_TARGET_EXAMPLES) {
            epochs = Math.min(MAX_AUTO_EPOCHS, (MIN_TARGET_EXAMPLES + n - 1) / n);
            why.put("n_epochs", epochs + ": a small set (" + n + " examples) is repeated to reach about "
                    + MIN_TARGET_EXAMPLES + " example passes");
        } else if ((long) n * TARGET_EPOCHS > MAX_TARGET_EXAMPLES) {
            epochs = Math.max(1, MAX_TARGET_EXAMPLES / n);
            why.put("n_epochs", epochs + ": a large set (" + n + " examples) stops near " + MAX_TARGET_EXAMPLES
                    + " example passes");
        } else {
            why.put("n_epochs", epochs + ": the default for " + n + " examples");
        }
        return epochs;
    }

    private static int batchSize(int n, Map<String, String> why) {
        int batch = (int) Math.max(1, Math.min(MAX_AUTO_BATCH, Math.round(n * 0.002)));
        why.put("batch_size", batch + ": about 0.2% of " + n + " examples, between 1 and " + MAX_AUTO_BATCH);
        return batch;
    }

    private static double learningRate(int batch, Map<String, String> why) {
        double scale = Math.max(0.5, Math.min(2.0, Math.sqrt(batch / 8.0)));
        double lr = BASE_LEARNING_RATE * scale;
        why.put("learning_rate", String.format(java.util.Locale.ROOT, "%.2e: LoRA's usual %.0e scaled by"
                + " sqrt(batch_size / 8), kept within [1e-4, 4e-4]", lr, BASE_LEARNING_RATE));
        return lr;
    }
}
