package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.lora.AdapterLoader;
import dev.quiver.serving.lora.AdapterRegistry;
import dev.quiver.serving.lora.AdapterSlots;
import dev.quiver.serving.lora.NoFreeSlotException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous-batching generation on one compiled model. Each loop iteration spends a budget of
 * {@code prefillChunkTokens} prompt tokens on prefill (one sequence at a time, a long prompt in chunks
 * over several iterations), then advances every decoding sequence by one token in one batch, whatever
 * adapter each uses; so a long prompt delays the running batch by one chunk per token, never by its whole
 * prefill. A queued request starts as soon as a KV row is free and its adapter sits in a slot: adapters
 * are read from disk on the {@link AdapterLoader}'s thread, and a request whose adapter is still loading
 * or has no free slot waits without holding back the requests behind it. Tokens stream to each request's
 * {@link GenerationListener}.
 */
public final class InferenceEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(InferenceEngine.class.getName());

    private final DecoderSession session;
    private final AdapterRegistry registry;
    private final AdapterSlots slots;
    private final AdapterLoader loader;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosTokenIds;
    private final int maxBatch;
    private final int maxSequenceLength;
    private final int prefillChunkTokens;
    private final int sampleableVocab;
    private final Sampler sampler = new Sampler();
    private final Object lock = new Object();
    // guarded by lock: the queue in arrival order, and whether anything the loop should look at happened
    private final List<Pending> pending = new ArrayList<>();
    private boolean signalled;
    // engine thread only: decoding sequences in KV rows [0, active.size()), and the one prefilling after them
    private final List<Sequence> active = new ArrayList<>();
    private Sequence prefilling;
    private final Thread loop;
    private volatile boolean running = true;
    // written by the engine thread only, read by anyone
    private volatile long prefills;
    private volatile long prefillChunks;
    private volatile long prefillTokens;
    private volatile long prefillNanos;
    private volatile long decodeSteps;
    private volatile long decodeTokens;
    private volatile long decodeNanos;
    private volatile long generatedTokens;
    private volatile int peakBatch;
    private volatile long rowMoves;
    private volatile long slotLoads;

    /** A request waiting for a KV row, and for its adapter's weights and slot. */
    private static final class Pending {
        final GenerationRequest request;
        final GenerationListener listener;
        final GenerationHandle handle;
        // set on the engine thread when the adapter is not resident: its host weights, loading or loaded
        CompletableFuture<PeftAdapter> weights;

        Pending(GenerationRequest request, GenerationListener listener, GenerationHandle handle) {
            this.request = request;
            this.listener = listener;
            this.handle = handle;
        }
    }

    /** A started sequence: its KV row, adapter slot, cached length and output so far. */
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
            Long seed = source.request.params().seed();
            this.rng = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
        }

        SamplingParams params() {
            return source.request.params();
        }

        int[] prompt() {
            return source.request.promptTokens();
        }
    }

    /**
     * Starts an engine over {@code session} with the default prefill chunk, reading adapters on a loader
     * thread of its own. {@code tokenizer} may be null (then completions carry token ids only and stop
     * strings are refused).
     */
    public InferenceEngine(DecoderSession session, AdapterRegistry registry, Tokenizer tokenizer,
                           Collection<Integer> eosTokenIds) {
        this(session, registry, new AdapterLoader(registry), tokenizer, eosTokenIds,
                EngineSettings.DEFAULT_PREFILL_CHUNK_TOKENS);
    }

    /**
     * Starts an engine over {@code session}; {@code loader} reads adapters for {@code registry} (the engine
     * closes it), and a prompt is prefilled at most {@code prefillChunkTokens} tokens per loop iteration.
     */
    public InferenceEngine(DecoderSession session, AdapterRegistry registry, AdapterLoader loader,
                           Tokenizer tokenizer, Collection<Integer> eosTokenIds, int prefillChunkTokens) {
        if (prefillChunkTokens < 1) {
            throw new IllegalArgumentException("prefillChunkTokens must be positive, got " + prefillChunkTokens);
        }
        this.session = session;
        this.registry = registry;
        this.slots = new AdapterSlots(session.loraPools(), registry);
        this.loader = loader;
        this.tokenizer = tokenizer;
        this.eosTokenIds = Set.copyOf(eosTokenIds);
        this.maxBatch = session.kvCache().rows();
        this.maxSequenceLength = session.signature().maxSequenceLength();
        this.prefillChunkTokens = prefillChunkTokens;
        // checkpoints pad the embedding past the tokenizer (Qwen: 151936 rows, 151665 tokens); never pick a pad row
        int vocab = session.signature().config().vocabSize();
        this.sampleableVocab = tokenizer == null ? vocab : Math.min(vocab, tokenizer.vocabSize());
        this.loop = new Thread(this::run, "quiver-engine");
        loop.setDaemon(true);
        loop.start();
    }

    /** Compiles the model directory and starts an engine with its tokenizer and end-of-sequence ids. */
    public static InferenceEngine open(Path modelDir, EngineSettings settings) throws IOException {
        return open(modelDir, settings, null);
    }

    /**
     * As {@link #open(Path, EngineSettings)}, with adapter reads running on {@code adapterReads} (null: a
     * loader thread of the engine's own).
     */
    public static InferenceEngine open(Path modelDir, EngineSettings settings, Executor adapterReads)
            throws IOException {
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
            AdapterLoader loader = adapterReads == null ? new AdapterLoader(registry)
                    : new AdapterLoader(registry, adapterReads);
            return new InferenceEngine(session, registry, loader, tokenizer, model.eosTokenIds(),
                    settings.prefillChunkTokens());
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime could not open the compiled graph of " + modelDir + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Registers (or replaces) adapter {@code name} from a PEFT directory, reading it on the caller's thread.
     * A replaced adapter that sits in a slot is rewritten there, which is refused while running sequences
     * use it (they would see their weights change mid-sequence): register new versions under new names, as
     * vLLM does.
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
        signal();
    }

    /**
     * Loads adapter {@code name} into a slot (reading it on the caller's thread if it is not in host memory)
     * and keeps it there until {@link #unpinAdapter(String)}, so its requests never wait for a load.
     */
    public void pinAdapter(String name) throws IOException, NoFreeSlotException {
        slots.pin(name, registry.load(name));
    }

    /** Lets adapter {@code name} be evicted again when its slot is needed. */
    public void unpinAdapter(String name) {
        slots.unpin(name);
        signal();
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
        return new EngineStats(prefills, decodeSteps, generatedTokens, peakBatch, rowMoves, prefillChunks,
                prefillTokens, prefillNanos, decodeTokens, decodeNanos, slotLoads);
    }

    /** Queues {@code request}; its tokens stream to {@code listener} on the engine thread. */
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        GenerationHandle handle = new GenerationHandle();
        synchronized (lock) {
            if (!running) {
                throw new IllegalStateException("the engine is closed");
            }
            pending.add(new Pending(request, listener, handle));
            signalled = true;
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

    private void signal() {
        synchronized (lock) {
            signalled = true;
            lock.notifyAll();
        }
    }

    private void run() {
        while (running) {
            try {
                boolean prefilled = prefillWithinBudget();
                if (!active.isEmpty()) {
                    decode();
                } else if (!prefilled) {
                    awaitSignal();
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // a failed step leaves the KV rows in an unknown state: end every decoding sequence with the error
                LOG.log(Level.SEVERE, "decode step failed", t);
                for (Sequence s : active) {
                    slots.release(s.slot);
                    fail(s.source, t);
                }
                active.clear();
                keepPrefillingNextToActive();
            }
        }
    }

    /** Sleeps until a request arrives, an adapter finishes loading, a slot is unpinned or the engine closes. */
    private void awaitSignal() throws InterruptedException {
        synchronized (lock) {
            while (!signalled && running) {
                lock.wait();
            }
            signalled = false;
        }
    }

    /**
     * Prefills up to {@code prefillChunkTokens} prompt tokens: the rest of the sequence being prefilled,
     * then queued requests that can start, in arrival order. Returns whether it changed anything.
     */
    private boolean prefillWithinBudget() {
        int budget = prefillChunkTokens;
        boolean changed = false;
        while (budget > 0) {
            if (prefilling == null) {
                prefilling = startNext();
                if (prefilling == null) {
                    break;
                }
            }
            budget -= prefillChunk(budget);
            changed = true;
        }
        return changed;
    }

    /**
     * The first queued request that can start now, in the KV row after the decoding ones; null if none can.
     * Cancelled and invalid requests are ended on the way; a request waiting for its adapter stays queued
     * and the scan goes on past it.
     */
    private Sequence startNext() {
        if (active.size() >= maxBatch) {
            return null;
        }
        List<Pending> queue;
        synchronized (lock) {
            queue = new ArrayList<>(pending);
        }
        for (Pending p : queue) {
            if (p.handle.isCancelled()) {
                dequeue(p);
                complete(p, new Sequence(p, -1, LoraLayout.BASE_SLOT, new TextAssembler(null, List.of())),
                        FinishReason.CANCELLED);
                continue;
            }
            OptionalInt slot;
            TextAssembler text;
            try {
                int length = p.request.promptTokens().length;
                if (length >= maxSequenceLength) {
                    throw new IllegalArgumentException("the prompt has " + length + " tokens; this server holds at"
                            + " most " + maxSequenceLength + " tokens per sequence (prompt plus completion)");
                }
                text = new TextAssembler(tokenizer, p.request.params().stop());
                slot = slotFor(p);
            } catch (IOException | RuntimeException e) {
                dequeue(p);
                fail(p, e);
                continue;
            }
            if (slot.isPresent()) {
                dequeue(p);
                return new Sequence(p, active.size(), slot.getAsInt(), text);
            }
        }
        return null;
    }

    /**
     * {@code p}'s adapter slot with one more user, or empty while its weights are loading or every slot is
     * busy. The engine thread never reads an adapter here: the loader does, and this only copies the loaded
     * weights into a slot.
     */
    private OptionalInt slotFor(Pending p) throws IOException {
        String name = p.request.adapter();
        OptionalInt resident = slots.tryAcquire(name);
        if (resident.isPresent()) {
            return resident;
        }
        if (p.weights == null) {
            if (!registry.contains(name)) {
                throw registry.notRegistered(name);
            }
            p.weights = loader.load(name);
            p.weights.whenComplete((w, e) -> signal());
        }
        if (!p.weights.isDone()) {
            return OptionalInt.empty();
        }
        PeftAdapter weights = loaded(p.weights);
        if (!registry.contains(name)) {
            throw registry.notRegistered(name); // removed while it was loading
        }
        if (!slots.hasRoom() && !active.isEmpty() && !slots.allPinned()) {
            return OptionalInt.empty(); // a running sequence will release a slot
        }
        try {
            int slot = slots.acquire(name, weights);
            slotLoads++;
            return OptionalInt.of(slot);
        } catch (NoFreeSlotException e) {
            // nothing will release a slot: they are all pinned (or nothing runs that could use one)
            throw new IllegalStateException(e.getMessage() + " (every slot is pinned)");
        }
    }

    private static PeftAdapter loaded(CompletableFuture<PeftAdapter> weights) throws IOException {
        try {
            return weights.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(e.getCause());
        }
    }

    private void dequeue(Pending p) {
        synchronized (lock) {
            pending.remove(p);
            // the queue changed: look at it again before sleeping
            signalled = true;
        }
    }

    /**
     * Runs the next chunk (at most {@code budget} tokens) of the prefilling sequence; after its last chunk
     * the sequence samples its first token and joins the decoding batch. Returns the tokens consumed.
     */
    private int prefillChunk(int budget) {
        Sequence s = prefilling;
        if (s.source.handle.isCancelled()) {
            prefilling = null;
            slots.release(s.slot);
            complete(s.source, s, FinishReason.CANCELLED);
            return 0;
        }
        int[] prompt = s.prompt();
        int n = Math.min(budget, prompt.length - s.length);
        boolean last = s.length + n == prompt.length;
        float[][][] logits;
        long t0 = System.nanoTime();
        try {
            // a prefill writes only its own KV row, so a failure here leaves the decoding sequences intact
            StepBatch step = last ? StepBatch.prefill(s.row, Arrays.copyOfRange(prompt, s.length, s.length + n),
                    s.length, s.slot, false)
                    : StepBatch.prefillWithoutLogits(s.row, Arrays.copyOfRange(prompt, s.length, s.length + n),
                    s.length, s.slot);
            logits = session.run(step);
        } catch (OrtException | RuntimeException e) {
            prefilling = null;
            slots.release(s.slot);
            fail(s.source, e);
            return n;
        }
        prefillNanos += System.nanoTime() - t0;
        prefillChunks++;
        prefillTokens += n;
        s.length += n;
        if (!last) {
            return n;
        }
        prefills++;
        prefilling = null;
        accept(s, logits[0][0]);
        if (s.finished == null) {
            active.add(s); // its row is active.size() - 1: the prefilling row sits right after the decoding ones
        } else {
            slots.release(s.slot);
            complete(s.source, s, s.finished);
        }
        return n;
    }

    /** One token for every decoding sequence, in one batch. */
    private void decode() throws OrtException {
        for (Sequence s : active) {
            if (s.source.handle.isCancelled()) {
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
        long t0 = System.nanoTime();
        float[][][] logits = session.run(StepBatch.decode(tokens, past, rowSlots));
        decodeNanos += System.nanoTime() - t0;
        decodeSteps++;
        decodeTokens += b;
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
        SampledToken t = sampler.sample(logits.length > sampleableVocab ? Arrays.copyOf(logits,
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
            s.source.listener.onToken(token);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed; cancelling its sequence", e);
            s.finished = FinishReason.CANCELLED;
        }
    }

    /**
     * Ends finished sequences and keeps the decoding ones in rows {@code [0, active)} by moving the last into
     * holes, and the prefilling one right after them.
     */
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
        keepPrefillingNextToActive();
    }

    private void keepPrefillingNextToActive() {
        if (prefilling != null && prefilling.row != active.size()) {
            session.kvCache().moveRow(prefilling.row, active.size(), prefilling.length);
            rowMoves++;
            prefilling.row = active.size();
        }
    }

    private void complete(Pending p, Sequence s, FinishReason reason) {
        String held = s.text.flush();
        Completion c = new Completion(s.generated.stream().mapToInt(Integer::intValue).toArray(), s.text.text(),
                reason, p.request.promptTokens().length, s.tokens, held);
        try {
            p.listener.onComplete(c);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onComplete", e);
        }
        p.handle.result().complete(c);
    }

    private static void fail(Pending p, Throwable error) {
        try {
            p.listener.onError(error);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a generation listener failed in onError", e);
        }
        p.handle.result().completeExceptionally(error);
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
        for (Sequence s : active) {
            fail(s.source, closed);
        }
        active.clear();
        if (prefilling != null) {
            fail(prefilling.source, closed);
            prefilling = null;
        }
        loader.close();
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
