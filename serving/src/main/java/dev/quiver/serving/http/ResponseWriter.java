package dev.quiver.serving.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.http.toolcalls.ParsedAnswer;
import dev.quiver.serving.http.toolcalls.ToolCall;
import dev.quiver.serving.runtime.Completion;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.TokenLogprob;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Builds OpenAI's chat and text completion objects and stream chunks. */
final class ResponseWriter {
    static final ObjectMapper JSON = new ObjectMapper();
    /** OpenAI's finish_reason for an answer that calls tools. */
    static final String TOOL_CALLS = "tool_calls";

    private final Tokenizer tokenizer;
    private final boolean chat;
    private final String id;
    private final long created;
    private final String model;

    ResponseWriter(Tokenizer tokenizer, boolean chat, String id, long created, String model) {
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.id = id;
        this.created = created;
        this.model = model;
    }

    /** The whole response for finished choices. */
    ObjectNode complete(GenerationPlan plan, List<Completion> choices) {
        ObjectNode o = head(chat ? "chat.completion" : "text_completion");
        ArrayNode arr = o.putArray("choices");
        int completionTokens = 0;
        for (int i = 0; i < choices.size(); i++) {
            Completion c = choices.get(i);
            completionTokens += c.completionTokens();
            ObjectNode choice = arr.addObject();
            choice.put("index", i);
            String finishReason = c.finishReason().openAiName();
            if (chat) {
                ObjectNode msg = choice.putObject("message");
                msg.put("role", "assistant");
                ParsedAnswer answer = plan.toolCalls() == null ? new ParsedAnswer(c.text(), List.of())
                        : plan.toolCalls().parse(c.text());
                msg.put("content", answer.content());
                if (!answer.calls().isEmpty()) {
                    ArrayNode calls = msg.putArray("tool_calls");
                    answer.calls().forEach(call -> calls.add(toolCall(call)));
                    finishReason = TOOL_CALLS;
                }
            } else {
                choice.put("text", plan.echoPrompt() + c.text());
            }
            if (plan.topLogprobs() >= 0) {
                choice.set("logprobs", logprobs(c.tokens(), plan.echoPrompt().length()));
            } else {
                choice.putNull("logprobs");
            }
            choice.put("finish_reason", finishReason);
        }
        o.set("usage", usage(plan.promptTokens().length, completionTokens));
        return o;
    }

    /** The first chunk of a streamed chat choice, announcing the assistant role. */
    ObjectNode roleChunk(int index) {
        ObjectNode o = chunk(index);
        ObjectNode delta = o.withArray("choices").addObject().put("index", index).putObject("delta");
        delta.put("role", "assistant");
        delta.put("content", "");
        ((ObjectNode) o.withArray("choices").get(0)).putNull("logprobs");
        ((ObjectNode) o.withArray("choices").get(0)).putNull("finish_reason");
        return o;
    }

    /** A chunk carrying {@code text} (and the token's log-probabilities when asked for). */
    ObjectNode textChunk(int index, String text, GeneratedToken token, boolean withLogprobs, String finishReason) {
        ObjectNode o = chunk(index);
        ObjectNode choice = o.withArray("choices").addObject();
        choice.put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (!text.isEmpty() || finishReason == null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text);
        }
        if (withLogprobs && token != null) {
            choice.set("logprobs", logprobs(List.of(token), 0));
        } else {
            choice.putNull("logprobs");
        }
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return o;
    }

    /**
     * The two chunks that stream tool call {@code callIndex} of a choice, in OpenAI's delta format: first its
     * id, type and name (with empty arguments), then its arguments.
     */
    List<ObjectNode> toolCallChunks(int index, int callIndex, ToolCall call) {
        ObjectNode head = JSON.createObjectNode().put("index", callIndex).put("id", call.id()).put("type", "function");
        head.putObject("function").put("name", call.name()).put("arguments", "");
        ObjectNode args = JSON.createObjectNode().put("index", callIndex);
        args.putObject("function").put("arguments", call.arguments());
        return List.of(toolCallChunk(index, head), toolCallChunk(index, args));
    }

    private ObjectNode toolCallChunk(int index, ObjectNode call) {
        ObjectNode o = chunk(index);
        ObjectNode choice = o.withArray("choices").addObject();
        choice.put("index", index);
        choice.putObject("delta").putArray("tool_calls").add(call);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return o;
    }

    private static ObjectNode toolCall(ToolCall call) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", call.id());
        o.put("type", "function");
        o.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        return o;
    }

    /** The final chunk with usage and no choices ({@code stream_options.include_usage}). */
    ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode o = head(chat ? "chat.completion.chunk" : "text_completion");
        o.putArray("choices");
        o.set("usage", usage(promptTokens, completionTokens));
        return o;
    }

    private ObjectNode chunk(int index) {
        ObjectNode o = head(chat ? "chat.completion.chunk" : "text_completion");
        o.putArray("choices");
        return o;
    }

    private ObjectNode head(String object) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        o.put("system_fingerprint", "quiver");
        return o;
    }

    private static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = JSON.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    /** Chat: {@code {content: [{token, logprob, bytes, top_logprobs}]}}; text: the legacy parallel arrays. */
    private ObjectNode logprobs(List<GeneratedToken> tokens, int textOffset) {
        ObjectNode lp = JSON.createObjectNode();
        if (chat) {
            ArrayNode content = lp.putArray("content");
            for (GeneratedToken t : tokens) {
                ObjectNode e = content.addObject();
                String piece = piece(t.tokenId());
                e.put("token", piece);
                e.put("logprob", t.logprob());
                bytes(e, piece);
                ArrayNode top = e.putArray("top_logprobs");
                for (TokenLogprob alt : t.topLogprobs()) {
                    ObjectNode a = top.addObject();
                    String altPiece = piece(alt.tokenId());
                    a.put("token", altPiece);
                    a.put("logprob", alt.logprob());
                    bytes(a, altPiece);
                }
            }
            return lp;
        }
        ArrayNode texts = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int offset = textOffset;
        for (GeneratedToken t : tokens) {
            String piece = piece(t.tokenId());
            texts.add(piece);
            values.add(t.logprob());
            ObjectNode top = tops.addObject();
            for (TokenLogprob alt : t.topLogprobs()) {
                top.put(piece(alt.tokenId()), alt.logprob());
            }
            offsets.add(offset);
            offset += t.text().length();
        }
        return lp;
    }

    private String piece(int tokenId) {
        return tokenizer.decode(new int[] {tokenId});
    }

    private static void bytes(ObjectNode node, String piece) {
        ArrayNode b = node.putArray("bytes");
        for (byte x : piece.getBytes(StandardCharsets.UTF_8)) {
            b.add(x & 0xff);
        }
    }
}
