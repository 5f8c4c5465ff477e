package dev.quiver.serving.lora;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.graph.DecoderSignature;
import dev.quiver.serving.graph.LoraLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapter pools a compiled graph reads, as direct buffers bound zero-copy to its {@code lora.*}
 * inputs: writing one slot's region is the whole hot-swap. Slot 0 (the base) is never written.
 * Callers must not write a slot while a running step reads it (the engine swaps between steps).
 */
public final class LoraPools implements AutoCloseable {
    private final DecoderSignature signature;
    private final Map<String, Pool> pools = new LinkedHashMap<>();
    private final Map<String, OnnxTensor> tensors = new LinkedHashMap<>();

    /** One module's A, B and scale pools. */
    private record Pool(int layer, String module, int in, int out, FloatBuffer a, FloatBuffer b, FloatBuffer scale) {
    }

    public LoraPools(OrtEnvironment env, DecoderSignature signature) throws OrtException {
        this.signature = signature;
        LoraLayout layout = signature.lora();
        int slots = layout.slots();
        int rank = layout.maxRank();
        ModelConfig config = signature.config();
        try {
            for (int l = 0; l < config.numLayers(); l++) {
                for (String m : layout.targetModules()) {
                    ModelConfig.LinearShape s = config.linear(m);
                    Pool p = new Pool(l, m, s.in(), s.out(), direct((long) slots * s.in() * rank),
                            direct((long) slots * rank * s.out()), direct(slots));
                    pools.put(ModelConfig.modulePath(l, m), p);
                    tensors.put(DecoderSignature.loraA(l, m),
                            OnnxTensor.createTensor(env, p.a(), new long[] {slots, s.in(), rank}));
                    tensors.put(DecoderSignature.loraB(l, m),
                            OnnxTensor.createTensor(env, p.b(), new long[] {slots, rank, s.out()}));
                    tensors.put(DecoderSignature.loraScale(l, m),
                            OnnxTensor.createTensor(env, p.scale(), new long[] {slots}));
                }
            }
        } catch (OrtException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The graph inputs, by name; valid until {@link #close()}. */
    public Map<String, OnnxTensor> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public LoraLayout layout() {
        return signature.lora();
    }

    /**
     * Problems that keep {@code adapter} out of these pools (modules without a pool, rank above the pool
     * rank), each naming the adapter and module path; empty when it fits.
     */
    public List<String> misfits(String name, PeftAdapter adapter) {
        List<String> problems = new ArrayList<>();
        for (LoraWeights w : adapter.weights().values()) {
            Pool p = pools.get(w.module());
            if (p == null) {
                problems.add("adapter '" + name + "' adapts " + w.module() + " but this server compiled LoRA pools"
                        + " only for " + layout().targetModules() + "; start it with that module among the LoRA"
                        + " targets");
            } else if (w.rank() > layout().maxRank()) {
                problems.add("adapter '" + name + "' has rank " + w.rank() + " at " + w.module()
                        + ", above the pool max rank " + layout().maxRank() + "; raise the max LoRA rank or"
                        + " retrain with r <= " + layout().maxRank());
            } else if (w.in() != p.in() || w.out() != p.out()) {
                problems.add("adapter '" + name + "' module " + w.module() + " is [" + w.out() + " x " + w.in()
                        + "], the base layer is [" + p.out() + " x " + p.in() + "]");
            }
        }
        return problems;
    }

    /** Writes {@code adapter} into {@code slot}, replacing whatever was there (unadapted modules become zero). */
    public void write(int slot, String name, PeftAdapter adapter) {
        checkSlot(slot);
        List<String> problems = misfits(name, adapter);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        clear(slot);
        int rank = layout().maxRank();
        for (LoraWeights w : adapter.weights().values()) {
            Pool p = pools.get(w.module());
            // A is [r, in] -> pool [in, R]; B is [out, r] -> pool [R, out]; rows past r stay zero
            int aBase = slot * p.in() * rank;
            for (int j = 0; j < w.rank(); j++) {
                for (int i = 0; i < p.in(); i++) {
                    p.a().put(aBase + i * rank + j, w.a()[j * p.in() + i]);
                }
            }
            int bBase = slot * rank * p.out();
            float[] row = new float[p.out()];
            for (int j = 0; j < w.rank(); j++) {
                for (int o = 0; o < p.out(); o++) {
                    row[o] = w.b()[o * w.rank() + j];
                }
                p.b().put(bBase + j * p.out(), row, 0, p.out());
            }
            p.scale().put(slot, (float) adapter.config().scaleFor(w.module()));
        }
    }

    /** Zeroes {@code slot}, so rows that still point at it would run the base model. */
    public void clear(int slot) {
        checkSlot(slot);
        int rank = layout().maxRank();
        for (Pool p : pools.values()) {
            fill(p.a(), slot * p.in() * rank, p.in() * rank);
            fill(p.b(), slot * rank * p.out(), rank * p.out());
            p.scale().put(slot, 0f);
        }
    }

    private void checkSlot(int slot) {
        if (slot <= LoraLayout.BASE_SLOT || slot >= layout().slots()) {
            throw new IllegalArgumentException("LoRA slot " + slot + " is out of range: adapters go in slots 1.."
                    + (layout().slots() - 1) + " (slot 0 is the base)");
        }
    }

    private static void fill(FloatBuffer buf, int from, int count) {
        float[] zeros = new float[Math.min(count, 1 << 14)];
        for (int done = 0; done < count; done += zeros.length) {
            buf.put(from + done, zeros, 0, Math.min(zeros.length, count - done));
        }
    }

    private static FloatBuffer direct(long floats) {
        if (floats * Float.BYTES > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a LoRA pool of " + floats + " floats exceeds 2 GiB; use fewer slots"
                    + " or a lower max rank");
        }
        return ByteBuffer.allocateDirect((int) (floats * Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public void close() {
        tensors.values().forEach(OnnxTensor::close);
        tensors.clear();
    }
}
