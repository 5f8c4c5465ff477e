package dev.quiver.serving.runtime;

import java.util.List;

/**
 * The token picked at one position.
 *
 * @param logprob     its log-probability, NaN when not requested
 * @param topLogprobs the most likely tokens, most likely first; empty when not requested
 */
public record SampledToken(int tokenId, double logprob, List<TokenLogprob> topLogprobs) {
    public SampledToken {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
