package dev.quiver.serving.lora;

import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.graph.Precision;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An adapter as a server's LoRA pools hold it ({@link PoolFormat}): for each module it adapts, its rank rows of A
 * as PEFT stores them ({@code lora_A [rank, in]}) and its rank rows of B transposed and multiplied by the adapter's
 * scale ({@code out} values each), encoded in the pools' precision and byte order. The registry's host cache keeps
 * adapters in this form, so writing one into a slot is a copy, and on fp16 pools (a quantized base) it takes half
 * the bytes of PEFT's fp32 factors. Made by {@link PoolFormat#prepare}; immutable.
 */
public final class PreparedAdapter {
    /** One module's encoded rows: {@code rank} rows of A, and {@code rank} rows of scaled B^T. */
    record Module(int rank, byte[] a, byte[] b) {
    }

    private final PoolFormat format;
    private final Map<String, Module> modules;

    private PreparedAdapter(PoolFormat format, Map<String, Module> modules) {
        this.format = format;
        this.modules = Collections.unmodifiableMap(modules);
    }

    /** Encodes {@code adapter}, which must fit {@code format} ({@link PoolFormat#misfits} empty). */
    static PreparedAdapter of(PoolFormat format, PeftAdapter adapter) {
        Map<String, Module> modules = new LinkedHashMap<>();
        for (LoraWeights w : adapter.weights().values()) {
            int r = w.rank();
            float scale = (float) adapter.config().scaleFor(w.module());
            // B [out, r] becomes r rows of out, scaled
            float[] rows = new float[r * w.out()];
            float[] b = w.b();
            for (int j = 0; j < r; j++) {
                for (int o = 0; o < w.out(); o++) {
                    rows[j * w.out() + o] = scale * b[o * r + j];
                }
            }
            modules.put(w.module(), new Module(r, encode(w.a(), format.precision()), encode(rows, format.precision())));
        }
        return new PreparedAdapter(format, modules);
    }

    public PoolFormat format() {
        return format;
    }

    /** The encoded rows by module path: only the modules the adapter adapts. */
    Map<String, Module> modules() {
        return modules;
    }

    /** Bytes of the encoded rows. */
    public long bytes() {
        long bytes = 0;
        for (Module m : modules.values()) {
            bytes += m.a().length + m.b().length;
        }
        return bytes;
    }

    private static byte[] encode(float[] values, Precision precision) {
        byte[] bytes = new byte[values.length * precision.bytes()];
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        if (precision == Precision.FP32) {
            buffer.asFloatBuffer().put(values);
        } else {
            for (int i = 0; i < values.length; i++) {
                buffer.putShort(2 * i, DType.floatToF16(values[i]));
            }
        }
        return bytes;
    }
}
