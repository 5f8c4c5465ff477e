package dev.quiver.serving.runtime;

import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.graph.LoraLayout;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns sampled tokens into what a request sees: the end-of-sequence, stop-token, stop-string and length
 * checks, the text pieces streamed to its {@link GenerationListener}, and the final {@link Completion} or error.
 * A listener that throws never takes the engine down: its sequence is cancelled instead.
 */
final class OutputProcessor {
    private static final Logger LOG = Logger.getLogger(OutputProcessor.class.getName());

    private final Tokenizer tokenizer;
    private final Set<Integer> eosTokenIds;
    private final int maxSequenceLength;
    private final EngineCounters counters;

    /** {@code tokenizer} may be null: completions then carry token ids only, and stop strings are refused. */
    OutputProcessor(Tokenizer tokenizer, Set<Integer> eosTokenIds, int maxSequenceLength, EngineCounters counters) {
        this.tokenizer = tokenizer;
        this.eosTokenIds = Set.copyOf(eosTokenIds);
        this.maxSequenceLength = maxSequenceLength;
        this.counters = counters;
    }

    /** The text assembler for a request with {@code params}; refuses stop strings without a tokenizer. */
    TextAssembler textFor(SamplingParams params) {
        return new TextAssembler(tokenizer, params.stop());
    }

    /** Appends sampled token {@code t} to {@code s}, streams it, and sets {@code s.finished} if {@code s} ends. */
    void accept(RunningSequence s, SampledToken t) {
        SamplingParams params = s.params();
        boolean eos = !params.ignoreEos() && eosTokenIds.contains(t.tokenId());
        if (eos || params.stopTokenIds().contains(t.tokenId())) {
            s.finished = FinishReason.STOP;
            return;
        }
        s.generated.add(t.tokenId());
        counters.generatedToken();
        s.lastToken = t.tokenId();
        String delta = s.text.add(t.tokenId());
        if (s.constraint != null) {
            s.constraint.advance(t.tokenId());
        }
        if (s.text.stopped() || s.constraint != null && s.constraint.complete()) {
            s.finished = FinishReason.STOP;
        } else if (s.generated.size() >= params.maxTokens() || s.length + 1 >= maxSequenceLength) {
            // length + 1 = prompt + generated tokens (the newest is not cached yet); cap it like max_model_len
            s.finished = FinishReason.LENGTH;
        }
        if (s.finished != null) {
            delta += s.text.flush();
        }
        GeneratedToken token = new GeneratedToken(t.tokenId(), delta, t.logprob(), t.topLogprobs());
        s.tokens.add(token);
        try {
            s.source.listener.onToken(token);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed; cancelling its sequence", e);
            s.finished = FinishReason.CANCELLED;
        }
    }

    /** Ends {@code s} with its completion, including any text held back while it could have become a stop string. */
    void complete(RunningSequence s, FinishReason reason) {
        QueuedRequest r = s.source;
        String held = s.text.flush();
        Completion c = new Completion(s.generated.stream().mapToInt(Integer::intValue).toArray(), s.text.text(),
                reason, r.request.promptTokens().length, s.tokens, held);
        try {
            r.listener.onComplete(c);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onComplete", e);
        }
        r.handle.result().complete(c);
    }

    /** Ends a request cancelled while it was queued, with an empty completion. */
    void cancelQueued(QueuedRequest r) {
        complete(new RunningSequence(r, -1, LoraLayout.BASE_SLOT, new TextAssembler(null, List.of())),
                FinishReason.CANCELLED);
    }

    /** Ends {@code r} with {@code error}, which its listener and its handle both see. */
    void fail(QueuedRequest r, Throwable error) {
        try {
            r.listener.onError(error);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onError", e);
        }
        r.handle.result().completeExceptionally(error);
    }
}
