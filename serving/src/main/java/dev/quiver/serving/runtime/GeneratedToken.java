package dev.quiver.serving.runtime;

import java.util.List;

/**
 * One generated token as streamed to a listener.
 *
 * @param text        the text this token releases (may be empty while text is held back for stop strings)
 * @param logprob     NaN unless logprobs were requested
 * @param topLogprobs empty unless top_logprobs were requested
 */
public record GeneratedToken(int tokenId, String text, double logprob, List<TokenLogprob> topLogprobs) {
    public GeneratedToken {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
