package dev.quiver.serving.runtime;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.Quantization;
import java.nio.file.Path;
import java.util.List;

/**
 * How an {@link InferenceEngine} is sized.
 *
 * @param maxBatch          sequences decoded together (KV cache rows)
 * @param maxSequenceLength prompt plus generated tokens per sequence
 * @param loraSlots         adapters resident at once, besides the base
 * @param maxLoraRank       the largest adapter rank the pools hold
 * @param loraTargets       the linear modules that get a LoRA branch
 * @param threads           ONNX Runtime intra-op threads
 * @param hostCacheSize     adapters kept in host memory by the registry
 * @param prefillChunkTokens prompt tokens prefilled between two decode steps: a longer prompt is prefilled in
 *                          chunks, so running sequences wait one chunk per token instead of the whole prompt
 * @param quantization      how the base model's linear weights are stored (LoRA pools stay fp32)
 * @param graphCacheDir     where compiled graphs are kept between restarts, keyed by model and settings; null
 *                          compiles at every open
 */
public record EngineSettings(int maxBatch, int maxSequenceLength, int loraSlots, int maxLoraRank,
                             List<String> loraTargets, int threads, int hostCacheSize, int prefillChunkTokens,
                             Quantization quantization, Path graphCacheDir) {
    /**
     * A chunk stalls the running sequences for one prefill step: 128 tokens of the small demo model take about
     * 0.1 s on 2 CPU cores, several decode steps' worth. Larger chunks raise prefill throughput a little and
     * every decoding sequence's worst inter-token latency a lot.
     */
    public static final int DEFAULT_PREFILL_CHUNK_TOKENS = 128;

    public EngineSettings {
        loraTargets = List.copyOf(loraTargets);
        if (quantization == null) {
            throw new IllegalArgumentException("quantization must be set (Quantization.NONE for fp32)");
        }
        if (maxBatch < 1 || loraSlots < 0 || threads < 1 || hostCacheSize < 1 || prefillChunkTokens < 1) {
            throw new IllegalArgumentException("maxBatch, threads, hostCacheSize and prefillChunkTokens must be"
                    + " positive and loraSlots non-negative: " + maxBatch + ", " + threads + ", " + hostCacheSize
                    + ", " + prefillChunkTokens + ", " + loraSlots);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link EngineSettings}; every setting has a default sized for a small CPU box. */
    public static final class Builder {
        private int maxBatch = 8;
        private int maxSequenceLength = 2048;
        private int loraSlots = 8;
        private int maxLoraRank = 16;
        private List<String> loraTargets = ModelConfig.LINEAR_MODULES;
        private int threads = Runtime.getRuntime().availableProcessors();
        private int hostCacheSize = 32;
        private int prefillChunkTokens = DEFAULT_PREFILL_CHUNK_TOKENS;
        private Quantization quantization = Quantization.NONE;
        private Path graphCacheDir;

        public Builder optMaxBatch(int maxBatch) {
            this.maxBatch = maxBatch;
            return this;
        }

        public Builder optMaxSequenceLength(int maxSequenceLength) {
            this.maxSequenceLength = maxSequenceLength;
            return this;
        }

        public Builder optLoraSlots(int loraSlots) {
            this.loraSlots = loraSlots;
            return this;
        }

        public Builder optMaxLoraRank(int maxLoraRank) {
            this.maxLoraRank = maxLoraRank;
            return this;
        }

        public Builder optLoraTargets(List<String> loraTargets) {
            this.loraTargets = loraTargets;
            return this;
        }

        public Builder optThreads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder optHostCacheSize(int hostCacheSize) {
            this.hostCacheSize = hostCacheSize;
            return this;
        }

        public Builder optPrefillChunkTokens(int prefillChunkTokens) {
            this.prefillChunkTokens = prefillChunkTokens;
            return this;
        }

        public Builder optQuantization(Quantization quantization) {
            this.quantization = quantization;
            return this;
        }

        /** Keeps compiled graphs in {@code graphCacheDir} (null: no cache). */
        public Builder optGraphCacheDir(Path graphCacheDir) {
            this.graphCacheDir = graphCacheDir;
            return this;
        }

        public EngineSettings build() {
            return new EngineSettings(maxBatch, maxSequenceLength, loraSlots, maxLoraRank, loraTargets, threads,
                    hostCacheSize, prefillChunkTokens, quantization, graphCacheDir);
        }
    }
}
