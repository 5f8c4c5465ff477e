package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.serving.http.toolcalls.ToolCallEvent;
import dev.quiver.serving.http.toolcalls.ToolCallStream;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.GeneratedToken;
import java.util.ArrayList;
import java.util.List;

/**
 * The stream chunks of one choice: each token's text as a content delta, or, when the plan parses tool
 * calls, content and {@code tool_calls} deltas as the parser releases them.
 */
final class ChoiceChunks {
    private final ResponseWriter writer;
    private final int index;
    private final boolean logprobs;
    private final ToolCallStream toolCalls;
    private int calls;

    ChoiceChunks(ResponseWriter writer, int index, GenerationPlan plan) {
        this.writer = writer;
        this.index = index;
        this.logprobs = plan.topLogprobs() >= 0;
        this.toolCalls = plan.toolCalls() == null ? null : plan.toolCalls().stream();
    }

    List<ObjectNode> token(GeneratedToken token) {
        if (toolCalls == null) {
            return List.of(writer.textChunk(index, token.text(), token, logprobs, null));
        }
        List<ObjectNode> out = chunks(toolCalls.add(token.text()), token);
        // a token the parser holds back still reports its log-probabilities, with no text
        if (out.isEmpty() && logprobs) {
            out.add(writer.textChunk(index, "", token, true, null));
        }
        return out;
    }

    List<ObjectNode> complete(Completion completion) {
        if (toolCalls == null) {
            return List.of(writer.textChunk(index, completion.heldBack(), null, false,
                    completion.finishReason().openAiName()));
        }
        List<ToolCallEvent> events = new ArrayList<>(toolCalls.add(completion.heldBack()));
        events.addAll(toolCalls.finish());
        List<ObjectNode> out = chunks(events, null);
        out.add(writer.textChunk(index, "", null, false, calls > 0 ? ResponseWriter.TOOL_CALLS
                : completion.finishReason().openAiName()));
        return out;
    }

    /** The token's log-probabilities ride on its first content chunk. */
    private List<ObjectNode> chunks(List<ToolCallEvent> events, GeneratedToken token) {
        List<ObjectNode> out = new ArrayList<>();
        for (ToolCallEvent e : events) {
            if (e instanceof ToolCallEvent.Content c) {
                out.add(writer.textChunk(index, c.text(), token, logprobs, null));
                token = null;
            } else if (e instanceof ToolCallEvent.Call c) {
                out.addAll(writer.toolCallChunks(index, calls++, c.call()));
            }
        }
        return out;
    }
}
