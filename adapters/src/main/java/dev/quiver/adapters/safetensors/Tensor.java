package dev.quiver.adapters.safetensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A tensor's bytes as a read-only little-endian view (memory-mapped when read from a file). */
public final class Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    public Tensor(String name, DType dtype, long[] shape, ByteBuffer data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long expected = TensorInfo.numel(shape) * dtype.bytes();
        if (this.data.remaining() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + this.data.remaining()
                    + " bytes for shape " + Arrays.toString(shape) + " of " + dtype + " (expected " + expected + ")");
        }
    }

    /** Wraps float values, narrowing them to {@code dtype} (F32, F16 or BF16). */
    public static Tensor ofFloats(String name, DType dtype, long[] shape, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        FloatCodec.encode(values, 0, values.length, dtype, buf);
        buf.flip();
        return new Tensor(name, dtype, shape, buf);
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code i}; negative indices count from the end. */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long numel() {
        return TensorInfo.numel(shape);
    }

    /** A fresh read-only view of the raw little-endian bytes. */
    public ByteBuffer bytes() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The values widened to float (BF16 and F16 exactly). */
    public float[] toFloats() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + name + " has " + n + " elements, too many for one float[]");
        }
        float[] out = new float[(int) n];
        readFloats(0, out, 0, out.length);
        return out;
    }

    /** Reads {@code count} elements starting at element {@code from}, widened to float. */
    public void readFloats(long from, float[] dst, int dstOffset, int count) {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalStateException("tensor " + name + " is " + dtype + ", not a floating-point tensor");
        }
        FloatCodec.decode(bytes(), from, dtype, dst, dstOffset, count);
    }

    /** The values of an integer tensor (I32 or I64). */
    public long[] toLongs() {
        ByteBuffer b = bytes();
        long[] out = new long[(int) numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case I64 -> b.getLong(i * 8);
                case I32 -> b.getInt(i * 4);
                default -> throw new IllegalStateException("tensor " + name + " is " + dtype + ", not an integer tensor");
            };
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
