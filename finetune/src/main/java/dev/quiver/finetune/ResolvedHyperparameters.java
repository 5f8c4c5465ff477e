package dev.quiver.finetune;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hyperparameters a run actually uses, every {@code auto} replaced by a value.
 *
 * @param autoChosen the settings that were {@code auto}, each with the reason for its value
 * @param totalSteps optimizer steps over all epochs
 * @param warmupSteps steps of linear warmup before the cosine decay
 */
public record ResolvedHyperparameters(
        int nEpochs,
        int batchSize,
        double learningRate,
        int loraRank,
        double loraAlpha,
        double loraDropout,
        boolean useRslora,
        List<String> targetModules,
        double warmupRatio,
        double weightDecay,
        double maxGradNorm,
        int maxSeqLength,
        int microBatchTokens,
        boolean packing,
        int evalInterval,
        int totalSteps,
        int warmupSteps,
        Map<String, String> autoChosen) {

    public ResolvedHyperparameters {
        targetModules = List.copyOf(targetModules);
        autoChosen = Collections.unmodifiableMap(new LinkedHashMap<>(autoChosen));
    }

    /** The settings that decide the adapter bit for bit; a checkpoint only resumes a run that agrees on them. */
    public String identity() {
        return "epochs=" + nEpochs + " batch=" + batchSize + " lr=" + learningRate + " r=" + loraRank
                + " alpha=" + loraAlpha + " dropout=" + loraDropout + " rslora=" + useRslora
                + " targets=" + targetModules + " warmup=" + warmupRatio + " wd=" + weightDecay
                + " clip=" + maxGradNorm + " maxlen=" + maxSeqLength + " microbatch=" + microBatchTokens
                + " packing=" + packing + " steps=" + totalSteps + "/" + warmupSteps;
    }

    /** Optimizer steps in one pass over {@code examples} training examples. */
    public static int stepsPerEpoch(int examples, int batchSize) {
        return (examples + batchSize - 1) / batchSize;
    }
}
