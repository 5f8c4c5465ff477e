package dev.quiver.serving.runtime;

/**
 * Picks one sequence's next token from its row of a step's logits, with scratch of its own: the logits as far as
 * the tokenizer reaches (checkpoints pad the embedding past it, Qwen: 151936 rows, 151665 tokens, and a pad row
 * is never picked), masked by the sequence's constraint, then the {@link Sampler}'s. One per thread that samples.
 */
final class RowSampler {
    private final Sampler sampler = new Sampler();
    private final float[] sampleable;

    RowSampler(int sampleableVocab) {
        this.sampleable = new float[sampleableVocab];
    }

    SampledToken sample(RunningSequence s, StepLogits logits, int row) {
        logits.copy(row, 0, sampleable);
        if (s.constraint != null) {
            // masked before sampling, so greedy, sampled and the reported logprobs all see the constrained distribution
            s.constraint.apply(sampleable);
        }
        return sampler.sample(sampleable, s.params(), s.rng);
    }
}
