package dev.quiver.serving.graph;

import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Copies checkpoint tensors into direct fp32 buffers that ONNX Runtime reads in place. The memory-mapped
 * source is streamed in chunks, so a weight exists once in fp32 and never as a second heap copy.
 */
final class WeightLoader {
    private static final int CHUNK = 1 << 16;
    private static final int BLOCK_ROWS = 32;

    private final Checkpoint checkpoint;

    WeightLoader(Checkpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    /** The tensor in its stored layout, widened to fp32. */
    ByteBuffer asStored(String name) throws IOException {
        Tensor t = checkpoint.tensor(name);
        ByteBuffer bytes = allocate(name, t.numel());
        FloatBuffer out = bytes.asFloatBuffer();
        float[] chunk = new float[(int) Math.min(CHUNK, t.numel())];
        for (long done = 0; done < t.numel(); done += chunk.length) {
            int n = (int) Math.min(chunk.length, t.numel() - done);
            t.readFloats(done, chunk, 0, n);
            out.put((int) done, chunk, 0, n);
        }
        return bytes;
    }

    /** A 2-D {@code [out, in]} linear weight as {@code [in, out]}, so MatMul computes {@code x @ W^T}. */
    ByteBuffer transposed(String name) throws IOException {
        Tensor t = matrix(name);
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        ByteBuffer bytes = allocate(name, t.numel());
        FloatBuffer out = bytes.asFloatBuffer();
        float[] block = new float[BLOCK_ROWS * cols];
        float[] column = new float[BLOCK_ROWS];
        for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
            int n = Math.min(BLOCK_ROWS, rows - r0);
            t.readFloats((long) r0 * cols, block, 0, n * cols);
            for (int c = 0; c < cols; c++) {
                for (int r = 0; r < n; r++) {
                    column[r] = block[r * cols + c];
                }
                out.put(c * rows + r0, column, 0, n);
            }
        }
        return bytes;
    }

    /** A 2-D {@code [out, in]} weight quantized block by block along {@code in}, as MatMulNBits reads it. */
    BlockQuantizer.Quantized quantized(String name, Quantization quantization) throws IOException {
        Tensor t = matrix(name);
        int cols = (int) t.dim(1);
        return BlockQuantizer.forWeight(quantization, cols).quantize((row, dst) -> t.readFloats((long) row * cols, dst, 0, cols), (int) t.dim(0), cols);
    }

    private Tensor matrix(String name) throws IOException {
        Tensor t = checkpoint.tensor(name);
        if (t.shape().length != 2) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", a linear weight must be 2-D [out, in]");
        }
        return t;
    }

    /** A direct native-order buffer for {@code floats} fp32 values. */
    static ByteBuffer allocate(String name, long floats) {
        if (floats * Float.BYTES > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + name + " has " + floats + " values (" + floats * 4
                    + " bytes as fp32), above the 2 GiB a Java direct buffer holds; models this large need the"
                    + " weight split across several initializers, which the compiler does not do yet");
        }
        return ByteBuffer.allocateDirect((int) (floats * Float.BYTES)).order(ByteOrder.nativeOrder());
    }
}
