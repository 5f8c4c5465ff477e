package dev.quiver.finetune;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * What a fine-tuning job asks for. {@code nEpochs}, {@code batchSize}, {@code learningRate},
 * {@code loraAlpha}, {@code maxSeqLength} and {@code evalInterval} are null for {@code auto}: chosen from
 * the dataset and model by {@link AutoHyperparameters} and reported when training starts.
 *
 * @param batchSize        examples per optimizer step; split into micro-batches of at most
 *                         {@code microBatchTokens} tokens whose gradients are accumulated
 * @param targetModules    LoRA target module names, or {@code ["all-linear"]}
 * @param warmupRatio      fraction of the steps with a linear warmup before the cosine decay
 * @param validationSplit  fraction of the training file held out for evaluation when no validation file is given
 * @param evalInterval     evaluate every this many steps (and always at the end); 0 for the end only
 */
public record Hyperparameters(
        Integer nEpochs,
        Integer batchSize,
        Double learningRate,
        int loraRank,
        Double loraAlpha,
        double loraDropout,
        boolean useRslora,
        List<String> targetModules,
        double warmupRatio,
        double weightDecay,
        double maxGradNorm,
        Integer maxSeqLength,
        int microBatchTokens,
        boolean packing,
        double validationSplit,
        Integer evalInterval) {

    /** The LoRA rank when a job leaves it on auto. */
    public static final int DEFAULT_LORA_RANK = 16;

    public Hyperparameters {
        targetModules = List.copyOf(targetModules);
        List<String> problems = new ArrayList<>();
        check(problems, HyperparameterLimits.N_EPOCHS, nEpochs);
        check(problems, HyperparameterLimits.BATCH_SIZE, batchSize);
        check(problems, HyperparameterLimits.LEARNING_RATE, learningRate);
        check(problems, HyperparameterLimits.LORA_RANK, loraRank);
        check(problems, HyperparameterLimits.LORA_ALPHA, loraAlpha);
        if (loraDropout < 0 || loraDropout >= 1) {
            problems.add("lora_dropout must be in [0, 1), got " + loraDropout);
        }
        for (String m : targetModules) {
            if (!m.equals(LoraConfig.ALL_LINEAR) && !ModelConfig.LINEAR_MODULES.contains(m)) {
                problems.add("target module '" + m + "' is not one of " + ModelConfig.LINEAR_MODULES + " or "
                        + LoraConfig.ALL_LINEAR);
            }
        }
        if (targetModules.isEmpty()) {
            problems.add("target_modules is empty; use all-linear or some of " + ModelConfig.LINEAR_MODULES);
        }
        if (warmupRatio < 0 || warmupRatio >= 1) {
            problems.add("warmup_ratio must be in [0, 1), got " + warmupRatio);
        }
        if (weightDecay < 0) {
            problems.add("weight_decay must not be negative, got " + weightDecay);
        }
        if (!(maxGradNorm > 0)) {
            problems.add("max_grad_norm must be positive, got " + maxGradNorm);
        }
        if (maxSeqLength != null && maxSeqLength < 2) {
            problems.add("max_seq_length must be at least 2, got " + maxSeqLength);
        }
        if (microBatchTokens <= 0) {
            problems.add("micro_batch_tokens must be positive, got " + microBatchTokens);
        }
        if (validationSplit < 0 || validationSplit >= 1) {
            problems.add("validation_split must be in [0, 1), got " + validationSplit);
        }
        if (evalInterval != null && evalInterval < 0) {
            problems.add("eval_interval must not be negative, got " + evalInterval);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid hyperparameters: " + String.join("; ", problems));
        }
    }

    /** Null is auto, which the trainer chooses within the limits itself. */
    private static void check(List<String> problems, HyperparameterLimits.Range range, Number value) {
        if (value != null) {
            range.problem(range.name(), value).ifPresent(problems::add);
        }
    }

    /** Every setting at its default, the per-dataset ones on auto. */
    public static Hyperparameters auto() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The module names PEFT will list in adapter_config.json, in model order. */
    public List<String> resolvedTargetModules() {
        if (targetModules.contains(LoraConfig.ALL_LINEAR)) {
            return ModelConfig.LINEAR_MODULES;
        }
        return ModelConfig.LINEAR_MODULES.stream().filter(targetModules::contains).toList();
    }

    /** Builds hyperparameters; unset values are auto or the default named on each setter. */
    public static final class Builder {
        private Integer nEpochs;
        private Integer batchSize;
        private Double learningRate;
        private int loraRank = DEFAULT_LORA_RANK;
        private Double loraAlpha;
        private double loraDropout = 0.05;
        private boolean useRslora;
        private List<String> targetModules = List.of(LoraConfig.ALL_LINEAR);
        private double warmupRatio = 0.05;
        private double weightDecay;
        private double maxGradNorm = 1.0;
        private Integer maxSeqLength;
        private int microBatchTokens = 8192;
        private boolean packing;
        private double validationSplit;
        private Integer evalInterval;

        private Builder() {
        }

        /** Passes over the data; null for auto. */
        public Builder optEpochs(Integer epochs) {
            this.nEpochs = epochs;
            return this;
        }

        /** Examples per optimizer step; null for auto. */
        public Builder optBatchSize(Integer batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Peak learning rate; null for auto. */
        public Builder optLearningRate(Double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /** LoRA rank, default {@link #DEFAULT_LORA_RANK}. */
        public Builder optLoraRank(int rank) {
            this.loraRank = rank;
            return this;
        }

        /** LoRA alpha; unset for auto (twice the rank). */
        public Builder optLoraAlpha(double alpha) {
            this.loraAlpha = alpha;
            return this;
        }

        /** Dropout on the LoRA branch's input while training, default 0.05. */
        public Builder optLoraDropout(double dropout) {
            this.loraDropout = dropout;
            return this;
        }

        /** Scale by {@code alpha / sqrt(r)} instead of {@code alpha / r}, default off. */
        public Builder optUseRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        /** Target module names, default all-linear. */
        public Builder optTargetModules(List<String> modules) {
            this.targetModules = modules;
            return this;
        }

        /** Warmup fraction of all steps, default 0.05. */
        public Builder optWarmupRatio(double ratio) {
            this.warmupRatio = ratio;
            return this;
        }

        /** AdamW decoupled weight decay, default 0. */
        public Builder optWeightDecay(double decay) {
            this.weightDecay = decay;
            return this;
        }

        /** Gradient-norm clipping threshold, default 1.0. */
        public Builder optMaxGradNorm(double norm) {
            this.maxGradNorm = norm;
            return this;
        }

        /** Examples are cut to this many tokens; null for auto (the model's limit, at most 2048). */
        public Builder optMaxSeqLength(Integer length) {
            this.maxSeqLength = length;
            return this;
        }

        /** Token budget of one micro-batch, padding included, default 8192. */
        public Builder optMicroBatchTokens(int tokens) {
            this.microBatchTokens = tokens;
            return this;
        }

        /** Pack several examples into one row instead of padding each, default off. */
        public Builder optPacking(boolean packing) {
            this.packing = packing;
            return this;
        }

        /** Fraction of the training file held out for evaluation when there is no validation file, default 0. */
        public Builder optValidationSplit(double split) {
            this.validationSplit = split;
            return this;
        }

        /** Evaluate every this many steps; 0 for the end only; null for auto (about ten times per run). */
        public Builder optEvalInterval(Integer interval) {
            this.evalInterval = interval;
            return this;
        }

        public Hyperparameters build() {
            return new Hyperparameters(nEpochs, batchSize, learningRate, loraRank, loraAlpha, loraDropout, useRslora,
                    targetModules, warmupRatio, weightDecay, maxGradNorm, maxSeqLength, microBatchTokens, packing,
                    validationSplit, evalInterval);
        }
    }
}
