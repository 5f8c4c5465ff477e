package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.lora.AdapterRegistry;
import dev.quiver.serving.lora.AdapterSlots;
import dev.quiver.serving.lora.NoFreeSlotException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous-batching generation on one compiled model: requests queue up, each is prefilled into a free
 * KV row with its adapter's slot, and all running sequences advance one token per decode step in one
 * batch, whatever adapter each uses. Tokens stream to each request's {@link GenerationListener}.
 */
public final class InferenceEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(InferenceEngine.class.getName());

    private final DecoderSession session;
    private final AdapterRegistry registry;
    private final AdapterSlots slots;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosTokenIds;
    private final int maxBatch;
    private final int maxSequenceLength;
    private final int sampleableVocab;
    private final Sampler sampler = new Sampler();
    private final Object lock = new Object();
    private final Deque<Pending> pending = new ArrayDeque<>();
    private final List<Sequence> active = new ArrayList<>();
    private final Thread loop;
    private volatile boolean running = true;
    // written by the engine thread only, read by anyone
    private volatile long prefills;
    private volatile long decodeSteps;
    private volatile long generatedTokens;
    private volatile int peakBatch;
    private volatile long rowMoves;

    /** A request waiting for a KV row and an adapter slot. */
    private record Pending(GenerationRequest request, GenerationListener listener, GenerationHandle handle) {
    }

    /** A running sequence: its KV row, adapter slot, cached length and output so far. */
    private static final class Sequence {
        final Pending source;
        final int slot;
        final SplittableRandom rng;
        final TextAssembler text;
        final List<Integer> generated = new ArrayList<>();
        final List<GeneratedToken> tokens = new ArrayList<>();
        int row;
        int length;
        int lastToken;
        FinishReason finished;

        Sequence(Pending source, int row, int slot, TextAssembler text) {
            this.source = source;
            this.row = row;
            this.slot = slot;
            this.text = text;
            Long seed = source.request().params().seed();
            this.rng = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
        }

        SamplingParams params() {
            return source.request().params();
        }
    }

    /**
     * Starts an engine over {@code session}. {@code tokenizer} may be null (then completions carry token
     * ids only and stop strings are refused).
     */
    public InferenceEngine(DecoderSession session, AdapterRegistry registry, Tokenizer tokenizer,
                           Collection<Integer> eosTokenIds) {
        this.session = session;
        this.registry = registry;
        this.slots = new AdapterSlots(session.loraPools(), registry);
        this.tokenizer = tokenizer;
        this.eosTokenIds = Set.copyOf(eosTokenIds);
        this.maxBatch = session.kvCache().rows();
        this.maxSequenceLength = session.signature().maxSequenceLength();
        // checkpoints pad the embedding past the tokenizer (Qwen: 151936 rows, 151665 tokens); never pick a pad row
        int vocab = session.signature().config().vocabSize();
        this.sampleableVocab = tokenizer == null ? vocab : Math.min(vocab, tokenizer.vocabSize());
        this.loop = new Thread(this::run, "quiver-engine");
        loop.setDaemon(true);
        loop.start();
    }

    /** Compiles the model directory and starts an engine with its tokenizer and end-of-sequence ids. */
    public static InferenceEngine open(Path modelDir, EngineSettings settings) throws IOException {
        try (ModelDirectory model = ModelDirectory.open(modelDir)) {
            CompiledDecoder decoder = new DecoderGraphCompiler(CompileOptions.builder()
                    .optMaxSequenceLength(Math.min(settings.maxSequenceLength(),
                            model.config().maxPositionEmbeddings()))
                    .optLora(new LoraLayout(settings.loraSlots() + 1, settings.maxLoraRank(), settings.loraTargets()))
                    .build()).compile(model);
            DecoderSession session = DecoderSession.open(decoder, settings.maxBatch(), settings.threads());
            Tokenizer tokenizer = Files.exists(modelDir.resolve("tokenizer.json")) ? Tokenizer.load(modelDir) : null;
            AdapterRegistry registry = new AdapterRegistry(model.config(), settings.maxLoraRank(),
                    settings.hostCacheSize());
            return new InferenceEngine(session, registry, tokenizer, model.eosTokenIds());
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime could not open the compiled graph of " + modelDir + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Registers (or replaces) adapter {@code name} from a PEFT directory. A replaced adapter that sits in
     * a slot is rewritten there, which is refused while running sequences use it (they would see their
     * weights change mid-sequence): register new versions under new names, as vLLM does.
     */
    public void registerAdapter(String name, Path dir) throws IOException {
        if (slots.inUse(name)) {
            throw new IllegalStateException("adapter '" + name + "' is in use by running sequences; register the new"
                    + " version under another name or retry when they finish");
        }
        registry.register(name, dir);
        slots.reload(name);
    }

    /** Forgets adapter {@code name} and frees its slot; refused while running sequences use it. */
    public void removeAdapter(String name) {
        if (slots.slotOf(name).isPresent() && !slots.evict(name)) {
            throw new IllegalStateException("adapter '" + name + "' is in use by running sequences; remove it when"
                    + " they finish");
        }
        registry.remove(name);
    }

    /** The adapters this engine can serve. */
    public AdapterRegistry adapters() {
        return registry;
    }

    /** The adapters resident in the graph's slots. */
    public AdapterSlots slots() {
        return slots;
    }

    /** Counters since start, for metrics and for tests that check sequences shared a batch. */
    public EngineStats stats() {
        return new EngineStats(prefills, decodeSteps, generatedTokens, peakBatch, rowMoves);
    }

    /** Queues {@code request}; its tokens stream to {@code listener} on the engine thread. */
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        GenerationHandle handle = new GenerationHandle();
        synchronized (lock) {
            if (!running) {
                throw new IllegalStateException("the engine is closed");
            }
            pending.add(new Pending(request, listener, handle));
            lock.notifyAll();
        }
        return handle;
    }

    /** Generates to the end and returns the completion; errors are rethrown as the engine saw them. */
    public Completion generate(int[] promptTokens, String adapter, SamplingParams params) throws IOException {
        GenerationHandle handle = submit(new GenerationRequest(promptTokens, adapter, params), GenerationListener.NONE);
        try {
            return handle.result().get();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while generating", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(e.getCause());
        }
    }

    private void run() {
        while (running) {
            try {
                admit();
                if (active.isEmpty()) {
                    synchronized (lock) {
                        if (pending.isEmpty() && running) {
                            lock.wait();
                        }
                    }
                    continue;
                }
                decode();
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // a failed step leaves the KV rows in an unknown state: end every running sequence with the error
                LOG.log(Level.SEVERE, "decode step failed", t);
                for (Sequence s : active) {
                    slots.release(s.slot);
                    fail(s.source, t);
                }
                active.clear();
            }
        }
    }

    /** Prefills queued requests into free KV rows while rows and adapter slots last. */
    private void admit() {
        while (active.size() < maxBatch) {
            Pending p;
            synchronized (lock) {
                p = pending.peek();
            }
            if (p == null || !admit(p)) {
                return;
            }
        }
    }

    /** Starts {@code p} or fails it; false when it must wait for an adapter slot (it then stays queued). */
    private boolean admit(Pending p) {
        int[] prompt = p.request().promptTokens();
        if (p.handle().isCancelled()) {
            take();
            complete(p, new Sequence(p, -1, LoraLayout.BASE_SLOT, new TextAssembler(null, List.of())),
                    FinishReason.CANCELLED);
            return true;
        }
        if (prompt.length >= maxSequenceLength) {
            take();
            fail(p, new IllegalArgumentException("the prompt has " + prompt.length + " tokens; this server holds at"
                    + " most " + maxSequenceLength + " tokens per sequence (prompt plus completion)"));
            return true;
        }
        int slot;
        try {
            slot = slots.acquire(p.request().adapter());
        } catch (NoFreeSlotException e) {
            if (!active.isEmpty()) {
                return false; // a running sequence will release a slot
            }
            take();
            fail(p, new IllegalStateException(e.getMessage() + " (every slot is pinned)"));
            return true;
        } catch (IOException | RuntimeException e) {
            take();
            fail(p, e);
            return true;
        }
        take();
        try {
            TextAssembler text = new TextAssembler(tokenizer, p.request().params().stop());
            Sequence seq = new Sequence(p, active.size(), slot, text);
            // a prefill writes only its own KV row, so a failure here leaves the running sequences intact
            float[] logits = session.run(StepBatch.prefill(seq.row, prompt, 0, slot, false))[0][0];
            seq.length = prompt.length;
            prefills++;
            accept(seq, logits);
            if (seq.finished == null) {
                active.add(seq);
            } else {
                slots.release(slot);
                complete(p, seq, seq.finished);
            }
        } catch (OrtException | RuntimeException e) {
            slots.release(slot);
            fail(p, e);
        }
        return true;
    }

    private void take() {
        synchronized (lock) {
            pending.poll();
        }
    }

    /** One token for every running sequence, in one batch. */
    private void decode() throws OrtException {
        for (Sequence s : active) {
            if (s.source.handle().isCancelled()) {
                s.finished = FinishReason.CANCELLED;
            }
        }
        retireFinished();
        if (active.isEmpty()) {
            return;
        }
        int b = active.size();
        int[] tokens = new int[b];
        int[] past = new int[b];
        int[] rowSlots = new int[b];
        for (int r = 0; r < b; r++) {
            Sequence s = active.get(r);
            tokens[r] = s.lastToken;
            past[r] = s.length;
            rowSlots[r] = s.slot;
        }
        float[][][] logits = session.run(StepBatch.decode(tokens, past, rowSlots));
        decodeSteps++;
        peakBatch = Math.max(peakBatch, b);
        for (int r = 0; r < b; r++) {
            Sequence s = active.get(r);
            s.length++;
            accept(s, logits[r][0]);
        }
        retireFinished();
    }

    /** Samples the next token of {@code s} from {@code logits}, streams it, and decides whether {@code s} ends. */
    private void accept(Sequence s, float[] logits) {
        SamplingParams params = s.params();
        SampledToken t = sampler.sample(logits.length > sampleableVocab ? java.util.Arrays.copyOf(logits,
                sampleableVocab) : logits, params, s.rng);
        boolean eos = !params.ignoreEos() && eosTokenIds.contains(t.tokenId());
        if (eos || params.stopTokenIds().contains(t.tokenId())) {
            s.finished = FinishReason.STOP;
            return;
        }
        s.generated.add(t.tokenId());
        generatedTokens++;
        s.lastToken = t.tokenId();
        String delta = s.text.add(t.tokenId());
        if (s.text.stopped()) {
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
            s.source.listener().onToken(token);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed; cancelling its sequence", e);
            s.finished = FinishReason.CANCELLED;
        }
    }

    /** Ends finished sequences and keeps the running ones in rows {@code [0, active)} by moving the last into holes. */
    private void retireFinished() {
        for (int row = active.size() - 1; row >= 0; row--) {
            Sequence s = active.get(row);
            if (s.finished == null) {
                continue;
            }
            int last = active.size() - 1;
            if (row != last) {
                Sequence moved = active.get(last);
                session.kvCache().moveRow(moved.row, row, moved.length);
                rowMoves++;
                moved.row = row;
                active.set(row, moved);
            }
            active.remove(last);
            slots.release(s.slot);
            complete(s.source, s, s.finished);
        }
    }

    private void complete(Pending p, Sequence s, FinishReason reason) {
        String held = s.text.flush();
        Completion c = new Completion(s.generated.stream().mapToInt(Integer::intValue).toArray(), s.text.text(),
                reason, p.request().promptTokens().length, s.tokens, held);
        try {
            p.listener().onComplete(c);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onComplete", e);
        }
        p.handle().result().complete(c);
    }

    private static void fail(Pending p, Throwable error) {
        try {
            p.listener().onError(error);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onError", e);
        }
        p.handle().result().completeExceptionally(error);
    }

    /** Stops the loop, fails queued and running requests, and releases the native session. */
    @Override
    public void close() throws IOException {
        synchronized (lock) {
            running = false;
            lock.notifyAll();
        }
        loop.interrupt();
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IllegalStateException closed = new IllegalStateException("the engine was closed");
        synchronized (lock) {
            pending.forEach(p -> fail(p, closed));
            pending.clear();
        }
        Set<Pending> seen = new HashSet<>();
        for (Sequence s : active) {
            if (seen.add(s.source)) {
                fail(s.source, closed);
            }
        }
        active.clear();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IOException(e);
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
