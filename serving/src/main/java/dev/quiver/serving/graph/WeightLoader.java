package dev.quiver.serving.graph;

import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.adapters.safetensors.FloatReader;
import dev.quiver.adapters.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Copies checkpoint tensors into direct fp32 buffers that ONNX Runtime reads in place, or quantizes them. The
 * source is streamed in chunks by positional reads ({@link FloatReader}), so a weight exists once in fp32 and never
 * as a second heap copy, and the checkpoint is never mapped: its pages, once read, stay in the page cache rather
 * than in this process's resident size, and a first start peaks near the engine's steady size.
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
        FloatReader t = checkpoint.floatReader(name);
        long numel = t.info().numel();
        ByteBuffer bytes = allocate(name, numel);
        FloatBuffer out = bytes.asFloatBuffer();
        float[] chunk = new float[(int) Math.min(CHUNK, numel)];
        for (long done = 0; done < numel; done += chunk.length) {
            int n = (int) Math.min(chunk.length, numel - done);
            t.read(done, chunk, 0, n);
            out.put((int) done, chunk, 0, n);
        }
        return bytes;
    }

    /** A 2-D {@code [out, in]} linear weight as {@code [in, out]}, so MatMul computes {@code x @ W^T}. */
    ByteBuffer transposed(String name) throws IOException {
        FloatReader t = matrix(name);
        int rows = (int) t.info().shape()[0];
        int cols = (int) t.info().shape()[1];
        ByteBuffer bytes = allocate(name, (long) rows * cols);
        FloatBuffer out = bytes.asFloatBuffer();
        float[] block = new float[BLOCK_ROWS * cols];
        float[] column = new float[BLOCK_ROWS];
        for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
            int n = Math.min(BLOCK_ROWS, rows - r0);
            t.read((long) r0 * cols, block, 0, n * cols);
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
        return quantizedStack(List.of(name), quantization);
    }

    /**
     * The {@code [out_i, in]} weights {@code names} stacked along rows into one {@code [sum of out_i, in]} matrix
     * and quantized in one pass, straight into the stacked buffers (rows are quantized independently, so this is
     * the parts' blocks one after another, with no second copy of them).
     */
    BlockQuantizer.Quantized quantizedStack(List<String> names, Quantization quantization) throws IOException {
        List<FloatReader> parts = new ArrayList<>();
        int[] firstRow = new int[names.size() + 1];
        int cols = -1;
        for (int i = 0; i < names.size(); i++) {
            FloatReader t = matrix(names.get(i));
            long[] shape = t.info().shape();
            if (cols >= 0 && shape[1] != cols) {
                throw new IllegalArgumentException("only weights of one width stack: " + names.get(i) + " has "
                        + shape[1] + " columns, " + names.get(0) + " has " + cols);
            }
            cols = (int) shape[1];
            parts.add(t);
            firstRow[i + 1] = firstRow[i] + (int) shape[0];
        }
        int width = cols;
        BlockQuantizer.RowSource rows = (row, dst) -> {
            int part = 0;
            while (row >= firstRow[part + 1]) {
                part++;
            }
            parts.get(part).read((long) (row - firstRow[part]) * width, dst, 0, width);
        };
        return BlockQuantizer.forWeight(quantization, cols).quantize(rows, firstRow[names.size()], cols);
    }

    private FloatReader matrix(String name) throws IOException {
        FloatReader t = checkpoint.floatReader(name);
        TensorInfo info = t.info();
        if (info.shape().length != 2) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(info.shape())
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
