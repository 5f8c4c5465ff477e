package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.constraint.Constraints;
import dev.quiver.serving.constraint.TokenVocabulary;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.GraphCache;
import dev.quiver.serving.graph.AttentionKernel;
import dev.quiver.serving.graph.QuantizedKernel;
import dev.quiver.serving.graph.LoraKernel;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.lora.AdapterLoader;
import dev.quiver.serving.lora.AdapterRegistry;
import dev.quiver.serving.lora.AdapterSlots;
import dev.quiver.serving.lora.NoFreeSlotException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * Continuous-batching generation on one compiled model, with many adapters in one batch. The parts, as vLLM
 * keeps them apart: the {@link Scheduler} decides which queued request starts next, the
 * {@link AdapterSlotAssigner} gets its adapter into a slot (reading it off the engine thread), the
 * {@link EngineLoop} prefills and decodes, and the {@link OutputProcessor} applies the stop checks and streams
 * tokens to each request's {@link GenerationListener}. This class wires them up and is the way in: submit, the
 * adapter admin calls, and {@link #stats()}.
 */
public final class InferenceEngine implements AutoCloseable {
    private final DecoderSession session;
    private final AdapterRegistry registry;
    private final AdapterSlots slots;
    private final AdapterLoader loader;
    private final Tokenizer tokenizer;
    private final Constraints constraints;
    private final EngineCounters counters = new EngineCounters();
    private final OutputProcessor output;
    private final Scheduler scheduler;
    private final RunningBatch batch;
    private final EngineLoop engineLoop;
    private final Thread thread;

    /**
     * Starts an engine over {@code session} with the default prefill chunk and budget, reading adapters on a loader
     * thread of its own. {@code tokenizer} may be null (then completions carry token ids only and stop
     * strings are refused).
     */
    public InferenceEngine(DecoderSession session, AdapterRegistry registry, Tokenizer tokenizer,
                           Collection<Integer> eosTokenIds) {
        this(session, registry, new AdapterLoader(registry), tokenizer, eosTokenIds,
                EngineSettings.DEFAULT_PREFILL_CHUNK_TOKENS, EngineSettings.DEFAULT_PREFILL_BUDGET);
    }

    /**
     * Starts an engine over {@code session}; {@code loader} reads adapters for {@code registry} (the engine
     * closes it), and a prompt is prefilled at most {@code prefillChunkTokens} tokens per loop iteration, fewer
     * while sequences decode: as many as take about {@code prefillBudget} at the measured prefill rate.
     */
    public InferenceEngine(DecoderSession session, AdapterRegistry registry, AdapterLoader loader,
                           Tokenizer tokenizer, Collection<Integer> eosTokenIds, int prefillChunkTokens,
                           Duration prefillBudget) {
        PrefillBudget budget = new PrefillBudget(prefillChunkTokens, prefillBudget);
        this.session = session;
        this.registry = registry;
        this.slots = new AdapterSlots(session.loraPools(), registry);
        this.loader = loader;
        this.tokenizer = tokenizer;
        int maxSequenceLength = session.signature().maxSequenceLength();
        int vocab = session.signature().config().vocabSize();
        int sampleableVocab = tokenizer == null ? vocab : Math.min(vocab, tokenizer.vocabSize());
        this.output = new OutputProcessor(tokenizer, Set.copyOf(eosTokenIds), maxSequenceLength, counters);
        this.constraints = tokenizer == null ? null
                : new Constraints(TokenVocabulary.of(tokenizer, sampleableVocab, eosTokenIds));
        AdapterSlotAssigner assigner = new AdapterSlotAssigner(registry, slots, loader, counters);
        this.scheduler = new Scheduler(assigner, output, maxSequenceLength);
        this.batch = new RunningBatch(session.kvCache(), counters);
        this.engineLoop = new EngineLoop(session, scheduler, assigner, output, batch, counters, budget,
                sampleableVocab);
        this.thread = new Thread(engineLoop, "quiver-engine");
        thread.setDaemon(true);
        thread.start();
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
            boolean cpu = settings.executionProvider().kind() == ExecutionProvider.Kind.CPU;
            CompileOptions options = CompileOptions.builder()
                    .optMaxSequenceLength(Math.min(settings.maxSequenceLength(),
                            model.config().maxPositionEmbeddings()))
                    .optLora(new LoraLayout(settings.loraSlots() + 1, settings.maxLoraRank(), settings.loraTargets()))
                    .optQuantization(settings.quantization())
                    .optLoraKernel(cpu ? LoraKernel.forCpu() : LoraKernel.ONNX)
                    .optQuantizedKernel(cpu ? QuantizedKernel.forCpu() : QuantizedKernel.NBITS)
                    .optAttentionKernel(cpu ? AttentionKernel.forCpu() : AttentionKernel.GQA)
                    .build();
            DecoderGraphCompiler compiler = new DecoderGraphCompiler(options);
            SessionSettings run = new SessionSettings(settings.threads(), settings.executionProvider(), null);
            DecoderSession session;
            if (settings.graphCacheDir() != null) {
                GraphCache.Entry graph = new GraphCache(settings.graphCacheDir()).get(model, options);
                session = DecoderSession.open(graph.modelFile(), compiler.signature(model), graph.weightBytes(),
                        settings.maxBatch(), run);
            } else {
                session = DecoderSession.open(compiler.compile(model), settings.maxBatch(), run);
            }
            Tokenizer tokenizer = Files.exists(modelDir.resolve("tokenizer.json")) ? Tokenizer.load(modelDir) : null;
            AdapterRegistry registry = new AdapterRegistry(session.loraPools().format(), settings.hostCacheSize());
            AdapterLoader loader = adapterReads == null ? new AdapterLoader(registry)
                    : new AdapterLoader(registry, adapterReads);
            return new InferenceEngine(session, registry, loader, tokenizer, model.eosTokenIds(),
                    settings.prefillChunkTokens(), settings.prefillBudget());
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
        scheduler.signal();
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
        scheduler.signal();
    }

    /** The adapters this engine can serve. */
    public AdapterRegistry adapters() {
        return registry;
    }

    /** The adapters resident in the graph's slots. */
    public AdapterSlots slots() {
        return slots;
    }

    /**
     * The constraint compiler over this engine's vocabulary, with its cache; a request decodes under what it
     * returns when {@link GenerationRequest#constraint()} carries it.
     *
     * @throws IllegalStateException for an engine without a tokenizer, whose tokens have no known text
     */
    public Constraints constraints() {
        if (constraints == null) {
            throw new IllegalStateException("constrained decoding needs the model's tokenizer.json");
        }
        return constraints;
    }

    /** Bytes of base weights in the compiled graph: what one decode step reads. */
    public long weightBytes() {
        return session.weightBytes();
    }

    /** Bytes of the adapter pools, every slot's A and B at the pools' precision. */
    public long loraPoolBytes() {
        return session.loraPools().bytes();
    }

    /** Counters since start, for metrics and for tests that check sequences shared a batch. */
    public EngineStats stats() {
        return counters.snapshot(scheduler.depth(), batch.decodingRows(), slots.evictions(), registry.reads());
    }

    /** Queues {@code request}; its tokens stream to {@code listener} on the engine thread. */
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        GenerationHandle handle = new GenerationHandle();
        scheduler.add(new QueuedRequest(request, listener, handle));
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

    /** Stops the loop, fails queued and running requests, and releases the native session. */
    @Override
    public void close() throws IOException {
        scheduler.close();
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IllegalStateException closed = new IllegalStateException("the engine was closed");
        scheduler.drain().forEach(r -> output.fail(r, closed));
        engineLoop.failStarted(closed);
        engineLoop.close();
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
