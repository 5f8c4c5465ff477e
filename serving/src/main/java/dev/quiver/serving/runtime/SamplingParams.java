package dev.quiver.serving.runtime;

import java.util.List;

/**
 * How to pick tokens and when to stop, as OpenAI's and vLLM's sampling parameters mean them.
 *
 * @param temperature  0 for greedy decoding
 * @param topP         nucleus mass kept, in (0, 1]
 * @param topK         candidates kept, 0 for all
 * @param seed         null for a fresh random seed per request
 * @param maxTokens    generated tokens at most (the KV capacity may end a sequence sooner)
 * @param stop         strings that end generation; the text is cut before them
 * @param stopTokenIds token ids that end generation besides the model's end-of-sequence ids
 * @param ignoreEos    keep going past end-of-sequence tokens
 * @param logprobs     report the chosen token's log-probability
 * @param topLogprobs  also report this many most likely tokens per position (0 to 20)
 */
public record SamplingParams(double temperature, double topP, int topK, Long seed, int maxTokens, List<String> stop,
                             List<Integer> stopTokenIds, boolean ignoreEos, boolean logprobs, int topLogprobs) {
    public static final int MAX_TOP_LOGPROBS = 20;

    public SamplingParams {
        stop = List.copyOf(stop);
        stopTokenIds = List.copyOf(stopTokenIds);
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 disables it), got " + topK);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be at least 1, got " + maxTokens);
        }
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("top_logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", got "
                    + topLogprobs);
        }
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    public boolean greedy() {
        return temperature == 0 || topK == 1;
    }

    public static SamplingParams greedy(int maxTokens) {
        return builder().optTemperature(0).optMaxTokens(maxTokens).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link SamplingParams} with OpenAI's defaults: temperature 1, top_p 1, 16 tokens. */
    public static final class Builder {
        private double temperature = 1.0;
        private double topP = 1.0;
        private int topK;
        private Long seed;
        private int maxTokens = 16;
        private List<String> stop = List.of();
        private List<Integer> stopTokenIds = List.of();
        private boolean ignoreEos;
        private boolean logprobs;
        private int topLogprobs;

        public Builder optTemperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder optTopP(double topP) {
            this.topP = topP;
            return this;
        }

        public Builder optTopK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder optSeed(Long seed) {
            this.seed = seed;
            return this;
        }

        public Builder optMaxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        public Builder optStop(List<String> stop) {
            this.stop = stop;
            return this;
        }

        public Builder optStopTokenIds(List<Integer> stopTokenIds) {
            this.stopTokenIds = stopTokenIds;
            return this;
        }

        public Builder optIgnoreEos(boolean ignoreEos) {
            this.ignoreEos = ignoreEos;
            return this;
        }

        public Builder optLogprobs(boolean logprobs) {
            this.logprobs = logprobs;
            return this;
        }

        public Builder optTopLogprobs(int topLogprobs) {
            this.topLogprobs = topLogprobs;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topP, topK, seed, maxTokens, stop, stopTokenIds, ignoreEos,
                    logprobs || topLogprobs > 0, topLogprobs);
        }
    }
}
