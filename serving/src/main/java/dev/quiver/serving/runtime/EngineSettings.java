package dev.quiver.serving.runtime;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.Quantization;
import java.nio.file.Path;
import java.time.Duration;
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
 * @param prefillChunkTokens the most prompt tokens prefilled between two decode steps: a longer prompt is
 *                          prefilled in chunks, so running sequences wait one chunk per token instead of the
 *                          whole prompt; with nothing decoding, prefill runs at this chunk
 * @param quantization      how the base model's linear weights are stored (LoRA pools stay fp32)
 * @param graphCacheDir     where compiled graphs are kept between restarts, keyed by model and settings; null
 *                          compiles at every open
 * @param prefillBudget     while sequences decode, a prefill chunk is sized from the measured prefill rate to
 *                          take about this long, so their inter-token latency stays bounded on any model
 * @param executionProvider where ONNX Runtime runs the graph: the CPU, or a CUDA device
 */
public record EngineSettings(int maxBatch, int maxSequenceLength, int loraSlots, int maxLoraRank,
                             List<String> loraTargets, int threads, int hostCacheSize, int prefillChunkTokens,
                             Quantization quantization, Path graphCacheDir, Duration prefillBudget,
                             ExecutionProvider executionProvider) {
    /**
     * The cap on one prefill step, the chunk when nothing decodes: MatMul runs faster at larger M (small, one
     * process, 512-token chunks prefilled ~1.1-1.15x faster than 128-token ones); the time budget, not this cap,
     * protects decoding sequences.
     */
    public static final int DEFAULT_PREFILL_CHUNK_TOKENS = 512;
    /**
     * A prefill step costs about one read of every weight plus its tokens' compute, so a budget close to a decode
     * step buys tiny, inefficient chunks. Measured on the fp32 Qwen3-0.6B (2 CPU cores, 1 thread, decode step
     * ~60 ms, one process): the old 128-token cap stalled a running sequence 611 ms per chunk; 300 ms gave 51-token
     * chunks at 0.89x the cap's prefill rate and 331 ms inter-token latency (200 ms: 257 ms at 0.80x; 500 ms:
     * 494 ms at 0.97x). On the small demo model the cap binds first.
     */
    public static final Duration DEFAULT_PREFILL_BUDGET = Duration.ofMillis(300);

    public EngineSettings {
        loraTargets = List.copyOf(loraTargets);
        if (quantization == null) {
            throw new IllegalArgumentException("quantization must be set (Quantization.NONE for fp32)");
        }
        if (prefillBudget == null || prefillBudget.isNegative() || prefillBudget.isZero()) {
            throw new IllegalArgumentException("prefillBudget must be a positive duration, got " + prefillBudget);
        }
        if (executionProvider == null) {
            throw new IllegalArgumentException("executionProvider must be set (ExecutionProvider.CPU by default)");
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
        private Duration prefillBudget = DEFAULT_PREFILL_BUDGET;
        private ExecutionProvider executionProvider = ExecutionProvider.CPU;

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

        public Builder optPrefillBudget(Duration prefillBudget) {
            this.prefillBudget = prefillBudget;
            return this;
        }

        public Builder optExecutionProvider(ExecutionProvider executionProvider) {
            this.executionProvider = executionProvider;
            return this;
        }

        public EngineSettings build() {
            return new EngineSettings(maxBatch, maxSequenceLength, loraSlots, maxLoraRank, loraTargets, threads,
                    hostCacheSize, prefillChunkTokens, quantization, graphCacheDir, prefillBudget, executionProvider);
        }
    }
}
