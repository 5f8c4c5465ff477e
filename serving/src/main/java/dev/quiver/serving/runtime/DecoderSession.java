package dev.quiver.serving.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderSignature;
import dev.quiver.serving.graph.ExternalTensor;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.lora.LoraPools;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX Runtime session over a compiled decoder, with its KV cache and adapter pools bound zero-copy.
 * Not thread-safe: one step at a time (the engine's loop, or one caller of {@link ForwardPass}).
 */
public final class DecoderSession implements AutoCloseable {
    private final OrtEnvironment env;
    private final DecoderSignature signature;
    private final OrtSession session;
    private final KvCache kvCache;
    private final LoraPools loraPools;
    private final long weightBytes;
    // a step with one logit position per row writes its logits here (pinned), not into a tensor of ORT's that
    // Java would copy out: a decode step at C=8 and Qwen3's vocabulary would otherwise leave ~10 MB of garbage
    private final FloatBuffer logits;
    private final OnnxTensor[] pinnedLogits;
    private final int threads;

    private DecoderSession(OrtEnvironment env, DecoderSignature signature, OrtSession session, KvCache kvCache,
                           LoraPools loraPools, long weightBytes, int maxBatch, int threads) {
        this.env = env;
        this.signature = signature;
        this.session = session;
        this.kvCache = kvCache;
        this.loraPools = loraPools;
        this.weightBytes = weightBytes;
        int bytes = Math.multiplyExact(Math.multiplyExact(maxBatch, signature.config().vocabSize()), Float.BYTES);
        this.logits = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
        this.pinnedLogits = new OnnxTensor[maxBatch];
        this.threads = threads;
    }

    /**
     * Opens a session for {@code decoder} with room for {@code maxBatch} concurrent sequences. The session
     * keeps its own copy of the weights: drop {@code decoder} afterwards so its buffers can be freed.
     */
    public static DecoderSession open(CompiledDecoder decoder, int maxBatch, int threads) throws OrtException {
        return open(decoder, maxBatch, SessionSettings.cpu(threads));
    }

    /** As {@link #open(CompiledDecoder, int, int)}, with the threads, execution provider and profile of {@code run}. */
    public static DecoderSession open(CompiledDecoder decoder, int maxBatch, SessionSettings run) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OnnxTensor> weights = new ArrayList<>();
        try {
            Map<String, OnnxTensorLike> external = new LinkedHashMap<>();
            for (Map.Entry<String, ExternalTensor> e : decoder.initializers().entrySet()) {
                OnnxTensor t = e.getValue().tensor(env);
                weights.add(t);
                external.put(e.getKey(), t);
            }
            return open(decoder.signature(), decoder.weightBytes(), maxBatch, run, options -> {
                options.addExternalInitializers(external);
                return env.createSession(decoder.modelBytes(), options);
            });
        } finally {
            // ORT copies external initializers into its own (prepacked) memory while creating the session
            // (DecoderSessionTest keeps that true), so the compiled buffers may be collected from here on
            weights.forEach(OnnxTensor::close);
        }
    }

    /**
     * Opens a session on a graph file that {@link CompiledDecoder#writeTo} wrote (its weights beside it, of
     * {@code weightBytes} bytes): ONNX Runtime maps the weights file and owns what it makes of it, so no Java copy
     * of the weights exists.
     */
    public static DecoderSession open(Path modelFile, DecoderSignature signature, long weightBytes, int maxBatch,
                                      SessionSettings run) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        return open(signature, weightBytes, maxBatch, run,
                options -> env.createSession(modelFile.toString(), options));
    }

    @FunctionalInterface
    private interface SessionFactory {
        OrtSession create(OrtSession.SessionOptions options) throws OrtException;
    }

    private static DecoderSession open(DecoderSignature signature, long weightBytes, int maxBatch,
                                       SessionSettings run, SessionFactory factory) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        KvCache cache = null;
        LoraPools pools = null;
        try (OrtSession.SessionOptions options = run.options()) {
            session = factory.create(options);
            cache = new KvCache(env, signature, maxBatch);
            pools = new LoraPools(env, signature);
            return new DecoderSession(env, signature, session, cache, pools, weightBytes, maxBatch, run.threads());
        } catch (OrtException | RuntimeException e) {
            if (session != null) {
                session.close();
            }
            if (cache != null) {
                cache.close();
            }
            if (pools != null) {
                pools.close();
            }
            throw e;
        }
    }

    public DecoderSignature signature() {
        return signature;
    }

    public KvCache kvCache() {
        return kvCache;
    }

    public LoraPools loraPools() {
        return loraPools;
    }

    /** Bytes of base weights the compiled graph held ({@link CompiledDecoder#weightBytes()}): a decode step's read. */
    public long weightBytes() {
        return weightBytes;
    }

    /** ONNX Runtime's intra-op threads for this session, which sit idle between steps. */
    public int threads() {
        return threads;
    }

    /** Stops ONNX Runtime's profiler (opened with {@link SessionSettings#withProfile}) and returns its JSON file. */
    public String endProfiling() throws OrtException {
        return session.endProfiling();
    }

    /** Runs one step; returns a copy of its logits {@code [row][logitPosition][vocab]}: {@link #step}. */
    public float[][][] run(StepBatch step) throws OrtException {
        return step(step).toArray();
    }

    /**
     * Runs one step and appends the new tokens to the KV rows. The logits it returns may live in the session's
     * own buffer, valid until the next step.
     */
    public StepLogits step(StepBatch step) throws OrtException {
        int b = step.rows();
        int s = step.newTokens();
        int k = step.logitPositions()[0].length;
        int total = 0;
        long[] ids = new long[b * s];
        int[] seqlens = new int[b];
        long[] positions = new long[b * k];
        int[] slots = new int[b];
        int firstSlot = Integer.MAX_VALUE;
        int lastSlot = 0;
        for (int r = 0; r < b; r++) {
            int length = step.pastLengths()[r] + s;
            if (length > signature.maxSequenceLength()) {
                throw new IllegalArgumentException("sequence in KV row " + (step.firstRow() + r) + " would reach "
                        + length + " positions, above the compiled max sequence length "
                        + signature.maxSequenceLength());
            }
            if (s > 1 && step.pastLengths()[r] > 0 && b > 1) {
                // GroupQueryAttention on CPU: several new tokens after a cached prefix only for one sequence
                throw new IllegalArgumentException("a multi-token step after cached positions must be a single row");
            }
            seqlens[r] = length - 1;
            total = Math.max(total, length);
            for (int t = 0; t < s; t++) {
                int id = step.tokens()[r][t];
                if (id < 0 || id >= signature.config().vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " in KV row " + (step.firstRow() + r)
                            + " is outside the model's vocabulary [0, " + signature.config().vocabSize() + ")");
                }
                ids[r * s + t] = id;
            }
            for (int j = 0; j < k; j++) {
                positions[r * k + j] = step.logitPositions()[r][j];
            }
            slots[r] = step.slots()[r];
            if (slots[r] < 0 || slots[r] >= signature.lora().slots()) {
                throw new IllegalArgumentException("adapter slot " + slots[r] + " outside 0.."
                        + (signature.lora().slots() - 1));
            }
            if (slots[r] != LoraLayout.BASE_SLOT) {
                firstSlot = Math.min(firstSlot, slots[r]);
                lastSlot = Math.max(lastSlot, slots[r]);
            }
        }
        if (s > 1 && b > 1) {
            for (int r = 0; r < b; r++) {
                if (step.pastLengths()[r] != 0) {
                    throw new IllegalArgumentException("a batched prefill must start every row from an empty cache");
                }
            }
        }
        Map<String, OnnxTensor> past = kvCache.pastInputs(step.firstRow(), b);
        // bind only the run of slots this batch uses: nothing at all when every row is on the base
        Map<String, OnnxTensor> inputs = new HashMap<>(loraPools.inputs(firstSlot, lastSlot));
        inputs.putAll(past);
        int rank = signature.lora().maxRank();
        int width = lastSlot < firstSlot ? 0 : (lastSlot - firstSlot + 1) * rank;
        int tokens = b * s;
        // mask [tokens, width]: 1 on the pool columns of each token's adapter slot
        float[] mask = new float[width * tokens];
        for (int r = 0; r < b; r++) {
            if (slots[r] != LoraLayout.BASE_SLOT) {
                for (int t = r * s; t < (r + 1) * s; t++) {
                    int from = t * width + (slots[r] - firstSlot) * rank;
                    Arrays.fill(mask, from, from + rank, 1f);
                }
            }
        }
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            owned.add(put(inputs, DecoderSignature.INPUT_IDS,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, s})));
            owned.add(put(inputs, DecoderSignature.SEQLENS_K,
                    OnnxTensor.createTensor(env, IntBuffer.wrap(seqlens), new long[] {b})));
            owned.add(put(inputs, DecoderSignature.TOTAL_SEQUENCE_LENGTH,
                    OnnxTensor.createTensor(env, IntBuffer.wrap(new int[] {total}), new long[] {})));
            owned.add(put(inputs, DecoderSignature.LOGIT_POSITIONS,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {b, k})));
            owned.add(put(inputs, DecoderSignature.LORA_MASK,
                    OnnxTensor.createTensor(env, FloatBuffer.wrap(mask), new long[] {tokens, width})));
            Map<String, OnnxTensor> pinned = new HashMap<>();
            for (int l = 0; l < signature.config().numLayers(); l++) {
                // present = past: the op writes the new positions into the same memory it reads
                pinned.put(DecoderSignature.presentKey(l), past.get(DecoderSignature.pastKey(l)));
                pinned.put(DecoderSignature.presentValue(l), past.get(DecoderSignature.pastValue(l)));
            }
            int vocab = signature.config().vocabSize();
            if (k == 1) {
                pinned.put(DecoderSignature.LOGITS, pinnedLogits(b));
                session.run(inputs, Set.of(), pinned).close();
                return new StepLogits(logits, b, 1, vocab);
            }
            try (OrtSession.Result result = session.run(inputs, Set.of(DecoderSignature.LOGITS), pinned)) {
                // getFloatBuffer copies out of ORT's tensor, so the logits outlive the result
                return new StepLogits(((OnnxTensor) result.get(DecoderSignature.LOGITS).orElseThrow())
                        .getFloatBuffer(), b, k, vocab);
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    // [rows, 1, vocab] over the start of the logits buffer
    private OnnxTensor pinnedLogits(int rows) throws OrtException {
        if (pinnedLogits[rows - 1] == null) {
            int vocab = signature.config().vocabSize();
            pinnedLogits[rows - 1] = OnnxTensor.createTensor(env, logits.slice(0, rows * vocab),
                    new long[] {rows, 1, vocab});
        }
        return pinnedLogits[rows - 1];
    }

    private static OnnxTensor put(Map<String, OnnxTensor> inputs, String name, OnnxTensor t) {
        inputs.put(name, t);
        return t;
    }

    @Override
    public void close() throws OrtException {
        session.close();
        for (OnnxTensor t : pinnedLogits) {
            if (t != null) {
                t.close();
            }
        }
        kvCache.close();
        loraPools.close();
    }
}
