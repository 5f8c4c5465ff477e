package dev.quiver.serving.lora;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.DecoderSignature;
import dev.quiver.serving.graph.ExternalTensor;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Precision;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The adapter pools a compiled graph reads: per targeted module, an A pool {@code [(slots - 1) * rank, in]}
 * and a B pool {@code [(slots - 1) * rank, out]} in direct buffers, {@code rank} rows per adapter slot
 * (slot 0, the base, has none), of fp32 or fp16 values as the signature's {@link Precision} says. A holds PEFT's
 * {@code lora_A} as is; B holds {@code lora_B} transposed and multiplied by the adapter's scale, so the graph
 * needs no scale input: adapters come in that layout already ({@link PreparedAdapter}). A step binds, zero-copy,
 * the run of slots its rows use ({@link #inputs(int, int)}); writing one slot's rows is the whole hot-swap. Callers
 * must not write a slot while a running step reads it (the engine swaps between steps).
 */
public final class LoraPools implements AutoCloseable {
    // read-only source of zeros for clearing slots
    private static final byte[] ZEROS = new byte[1 << 16];

    private final OrtEnvironment env;
    private final PoolFormat format;
    private final Map<String, Pool> pools = new LinkedHashMap<>();
    // zero-copy views of slot runs, keyed by (first slot, last slot): at most slots^2 / 2 of them, made on first
    // use; the empty run binds width 0
    private final Map<Long, Map<String, OnnxTensor>> views = new HashMap<>();

    /** One module's A and B pools. */
    private record Pool(int layer, String module, int in, int out, Values a, Values b) {
    }

    /** One pool's values in a direct buffer, each stored as {@code precision} says. */
    private record Values(ByteBuffer bytes, Precision precision) {
        static Values allocate(long count, Precision precision) {
            if (count * precision.bytes() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a LoRA pool of " + count + " values exceeds 2 GiB; use fewer"
                        + " slots or a lower max rank");
            }
            return new Values(ByteBuffer.allocateDirect((int) (count * precision.bytes()))
                    .order(ByteOrder.nativeOrder()), precision);
        }

        /** Copies {@code encoded} values (this precision's, in native byte order) to value {@code index}. */
        void put(int index, byte[] encoded) {
            bytes.put(index * precision.bytes(), encoded);
        }

        /** Zeroes {@code count} values from value {@code index}. */
        void zero(int index, int count) {
            long from = (long) index * precision.bytes();
            long length = (long) count * precision.bytes();
            for (long done = 0; done < length; done += ZEROS.length) {
                bytes.put((int) (from + done), ZEROS, 0, (int) Math.min(ZEROS.length, length - done));
            }
        }

        /** A zero-copy tensor over {@code rows} rows of {@code columns} values from row {@code fromRow}. */
        OnnxTensor tensor(OrtEnvironment env, int fromRow, int rows, int columns) throws OrtException {
            int bytesPerRow = columns * precision.bytes();
            ByteBuffer view = bytes.slice(fromRow * bytesPerRow, rows * bytesPerRow).order(ByteOrder.nativeOrder());
            return new ExternalTensor(precision.onnxType(), new long[] {rows, columns}, view).tensor(env);
        }
    }

    public LoraPools(OrtEnvironment env, DecoderSignature signature) throws OrtException {
        this.env = env;
        this.format = new PoolFormat(signature.config(), signature.lora(), signature.loraPrecision());
        LoraLayout layout = signature.lora();
        long rows = (long) (layout.slots() - 1) * layout.maxRank();
        ModelConfig config = signature.config();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : layout.targetModules()) {
                ModelConfig.LinearShape s = config.linear(m);
                pools.put(ModelConfig.modulePath(l, m), new Pool(l, m, s.in(), s.out(),
                        Values.allocate(rows * s.in(), signature.loraPrecision()),
                        Values.allocate(rows * s.out(), signature.loraPrecision())));
            }
        }
        inputs(1, 0); // fail now, not on the first step, if ONNX Runtime refuses a view
    }

    /**
     * The graph's {@code lora.*} inputs over slots {@code [firstSlot, lastSlot]} (width
     * {@code (lastSlot - firstSlot + 1) * maxRank}); {@code lastSlot < firstSlot} binds width 0, for a batch
     * whose rows all run the base. Valid until {@link #close()}.
     */
    public Map<String, OnnxTensor> inputs(int firstSlot, int lastSlot) throws OrtException {
        boolean empty = lastSlot < firstSlot;
        if (!empty) {
            checkSlot(firstSlot);
            checkSlot(lastSlot);
        }
        long key = empty ? -1 : ((long) firstSlot << 32) | lastSlot;
        Map<String, OnnxTensor> v = views.get(key);
        if (v != null) {
            return v;
        }
        int rank = layout().maxRank();
        int fromRow = empty ? 0 : (firstSlot - 1) * rank;
        int rows = empty ? 0 : (lastSlot - firstSlot + 1) * rank;
        v = new LinkedHashMap<>();
        try {
            for (Pool p : pools.values()) {
                v.put(DecoderSignature.loraA(p.layer(), p.module()), p.a().tensor(env, fromRow, rows, p.in()));
                v.put(DecoderSignature.loraB(p.layer(), p.module()), p.b().tensor(env, fromRow, rows, p.out()));
            }
        } catch (OrtException | RuntimeException e) {
            v.values().forEach(OnnxTensor::close);
            throw e;
        }
        v = Collections.unmodifiableMap(v);
        views.put(key, v);
        return v;
    }

    public LoraLayout layout() {
        return format.layout();
    }

    /** Bytes of all the pools' buffers. */
    public long bytes() {
        long bytes = 0;
        for (Pool p : pools.values()) {
            bytes += p.a().bytes().capacity() + p.b().bytes().capacity();
        }
        return bytes;
    }

    /** These pools' format: what {@link PoolFormat#prepare} makes adapters ready for. */
    public PoolFormat format() {
        return format;
    }

    /**
     * Copies {@code adapter} into {@code slot}, replacing whatever was there (unadapted modules and rows past the
     * adapter's rank become zero).
     */
    public void write(int slot, PreparedAdapter adapter) {
        checkSlot(slot);
        if (!adapter.format().equals(format)) {
            throw new IllegalArgumentException("the adapter was prepared for other LoRA pools (" + adapter.format()
                    + "), not these (" + format + ")");
        }
        int rank = layout().maxRank();
        int firstRow = (slot - 1) * rank;
        for (Map.Entry<String, Pool> e : pools.entrySet()) {
            Pool p = e.getValue();
            PreparedAdapter.Module m = adapter.modules().get(e.getKey());
            int r = m == null ? 0 : m.rank();
            if (m != null) {
                p.a().put(firstRow * p.in(), m.a());
                p.b().put(firstRow * p.out(), m.b());
            }
            // rows past the adapter's rank (all of them for a module it does not adapt) stay zero
            p.a().zero((firstRow + r) * p.in(), (rank - r) * p.in());
            p.b().zero((firstRow + r) * p.out(), (rank - r) * p.out());
        }
    }

    /** Zeroes {@code slot}, so rows that still point at it would run the base model. */
    public void clear(int slot) {
        checkSlot(slot);
        int rank = layout().maxRank();
        int firstRow = (slot - 1) * rank;
        for (Pool p : pools.values()) {
            p.a().zero(firstRow * p.in(), rank * p.in());
            p.b().zero(firstRow * p.out(), rank * p.out());
        }
    }

    private void checkSlot(int slot) {
        if (slot <= LoraLayout.BASE_SLOT || slot >= layout().slots()) {
            throw new IllegalArgumentException("LoRA slot " + slot + " is out of range: adapters go in slots 1.."
                    + (layout().slots() - 1) + " (slot 0 is the base)");
        }
    }

    @Override
    public void close() {
        views.values().forEach(m -> m.values().forEach(OnnxTensor::close));
        views.clear();
    }
}
