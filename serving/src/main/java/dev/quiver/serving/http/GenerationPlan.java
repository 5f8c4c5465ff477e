package dev.quiver.serving.http;

import dev.quiver.serving.constraint.TokenConstraint;
import dev.quiver.serving.http.toolcalls.ToolCallParser;
import dev.quiver.serving.runtime.SamplingParams;
import io.micronaut.core.annotation.Nullable;

/**
 * A parsed completion request, ready for the engine.
 *
 * @param adapter       the adapter as its source describes it, null for the base model (registered with
 *                      the engine only once the request is admitted)
 * @param echoPrompt    text to prepend to each choice (legacy completions' {@code echo})
 * @param topLogprobs   -1 when log-probabilities were not requested
 * @param toolCalls     the parser that splits each chat answer into content and tool calls; null when the
 *                      answer is all content (no tools, {@code tool_choice: none}, text completions)
 * @param constraint    what every choice's output must match, null for free text
 */
public record GenerationPlan(String model, @Nullable AdapterSource.Entry adapter, int[] promptTokens, String echoPrompt, int n,
                             SamplingParams params, boolean stream, boolean includeUsage, int topLogprobs,
                             @Nullable ToolCallParser toolCalls, @Nullable TokenConstraint constraint) {

    /** A copy for choice {@code i}: seeded requests give each choice its own, still reproducible, seed. */
    SamplingParams paramsForChoice(int i) {
        if (params.seed() == null || i == 0) {
            return params;
        }
        return new SamplingParams(params.temperature(), params.topP(), params.topK(), params.seed() + i,
                params.maxTokens(), params.stop(), params.stopTokenIds(), params.ignoreEos(), params.logprobs(),
                params.topLogprobs());
    }
}
