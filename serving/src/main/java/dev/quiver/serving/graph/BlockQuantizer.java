package dev.quiver.serving.graph;

import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Weight-only block quantization of a matrix {@code W} [rows, cols] (a linear weight as Hugging Face stores it,
 * [out, in]), in the layout of ONNX Runtime's {@code com.microsoft:MatMulNBits} and {@code GatherBlockQuantized}:
 * each row is cut into blocks of {@code blockSize} consecutive values, each block has one fp32 scale, and the
 * value at column {@code c} is {@code (q[c] - zeroPoint) * scale}.
 *
 * <ul>
 *   <li>8 bits: symmetric, {@code scale = max|w| / 127}, {@code q = round(w / scale) + 128}; no zero-point tensor
 *       (both ops then take 128), as llama.cpp's Q8_0.</li>
 *   <li>4 bits: asymmetric over {@code [min(0, min w), max(0, max w)]}, {@code scale = range / 15} and a 4-bit
 *       zero point per block (two per byte, low nibble first), as llama.cpp's Q4_1: 16 levels are too few to
 *       waste one half of them on a block whose values lean to one side.</li>
 * </ul>
 * Values are packed little-end first (two 4-bit values per byte, the even column in the low nibble). When
 * {@code cols} is not a multiple of the block size, the last block is padded with the code of 0.
 */
final class BlockQuantizer {
    /**
     * The quantizer the compiler uses for a weight of {@code cols} inputs under {@code q}. Block sizes were measured
     * on this project's machines (MatMulNBitsBenchmark and QuantizedQualityTest, figures in docs/benchmarks.md):
     * int8 in blocks of 128, whose MatMulNBits runs 18-21% faster than blocks of 32 at no measurable cost (mean KL
     * against fp32 0.0005 either way); int4 in blocks of 32, as llama.cpp's Q4_1, since blocks of 128 raise its KL
     * by 40% with only 16 levels to spend. A row length the block does not divide gets the largest smaller power
     * of two (down to 16) that divides it, so that every block is whole where possible (the quantized embedding
     * lookup needs it); otherwise the last block is padded.
     */
    static BlockQuantizer forWeight(Quantization q, int cols) {
        int preferred = switch (q) {
            case INT8 -> 128;
            case INT4 -> 32;
            case NONE -> throw new IllegalArgumentException("fp32 weights are not block-quantized");
        };
        for (int block = preferred; block >= 16; block /= 2) {
            if (cols % block == 0) {
                return new BlockQuantizer(q.bits(), block);
            }
        }
        return new BlockQuantizer(q.bits(), preferred);
    }

    private final int bits;
    private final int blockSize;

    BlockQuantizer(int bits, int blockSize) {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("block quantization supports 4 or 8 bits, got " + bits);
        }
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of 2 of at least 16 (ONNX Runtime's"
                    + " MatMulNBits and GatherBlockQuantized), got " + blockSize);
        }
        this.bits = bits;
        this.blockSize = blockSize;
    }

    /** Reads row {@code row} of the source matrix into {@code dst} ({@code cols} values). */
    @FunctionalInterface
    interface RowSource {
        void read(int row, float[] dst) throws IOException;
    }

    /**
     * A quantized matrix.
     *
     * @param data       {@code rows * blocksPerRow * blobBytes} bytes: MatMulNBits' B [rows, blocks, blob]
     * @param scales     {@code rows * blocksPerRow} fp32 scales, row-major, native byte order
     * @param zeroPoints 4 bits: {@code rows * ceil(blocksPerRow / 2)} bytes; 8 bits: null (128 implied)
     */
    record Quantized(int bits, int blockSize, int rows, int cols, ByteBuffer data, ByteBuffer scales,
                     ByteBuffer zeroPoints) {
        int blocksPerRow() {
            return (cols + blockSize - 1) / blockSize;
        }

        /** Bytes of one block's packed values. */
        int blobBytes() {
            return blockSize * bits / 8;
        }

        /** Bytes of each row's packed zero points (4 bits); 0 when zero points are implied. */
        int zeroPointBytesPerRow() {
            return zeroPoints == null ? 0 : (blocksPerRow() + 1) / 2;
        }

        /** The stored value at ({@code row}, {@code col}), as ONNX Runtime dequantizes it. */
        float dequantize(int row, int col) {
            int block = col / blockSize;
            int inBlock = col % blockSize;
            long base = ((long) row * blocksPerRow() + block) * blobBytes();
            int q;
            if (bits == 8) {
                q = Byte.toUnsignedInt(data.get((int) (base + inBlock)));
            } else {
                q = nibble(data, (int) base, inBlock);
            }
            return (q - zeroPoint(row, block)) * scales.getFloat((row * blocksPerRow() + block) * Float.BYTES);
        }

        int zeroPoint(int row, int block) {
            if (zeroPoints == null) {
                return 1 << (bits - 1);
            }
            return nibble(zeroPoints, row * zeroPointBytesPerRow(), block);
        }

        /**
         * The 4-bit zero points packed over all {@code rows * blocksPerRow} blocks with no per-row padding, as
         * ONNX Runtime 1.23's GatherBlockQuantized reads them (MatMulNBits pads each row to whole bytes). With an
         * even number of blocks per row the two layouts are the same bytes, and this returns the same buffer.
         */
        ByteBuffer unpaddedZeroPoints() {
            if (zeroPoints == null || blocksPerRow() % 2 == 0) {
                return zeroPoints;
            }
            int blocks = rows * blocksPerRow();
            // sized as the padded layout, which is the shape the op checks; the tail bytes stay unused
            ByteBuffer flat = ByteBuffer.allocateDirect(rows * zeroPointBytesPerRow());
            for (int i = 0; i < blocks; i++) {
                int zp = zeroPoint(i / blocksPerRow(), i % blocksPerRow());
                flat.put(i / 2, (byte) (flat.get(i / 2) | ((i & 1) == 0 ? zp : zp << 4)));
            }
            return flat;
        }

        /**
         * This matrix in the layout of Quiver's {@code dev.quiver:MatMulQ8} (int8) or {@code MatMulQ4} (int4): rows
         * four at a time, each group's blocks in order and each block's four rows side by side, so that a kernel
         * computing four outputs reads one stream of consecutive bytes. Codes are [rows / 4, blocks, 4, blob].
         * <ul>
         *   <li>int8: the codes as stored, scales [rows / 4, blocks, 4] fp32.</li>
         *   <li>int4: byte t of a row's block holds the codes of columns t (low nibble) and t + blockSize / 2
         *       (high), so one nibble of a block's bytes is its first half and the other its second; the scales are
         *       fp16 [rows / 4, blocks, 8], the group's four d then its four m, a value being {@code code * d + m}
         *       ({@code d} the scale, {@code m = -zeroPoint * scale}, each rounded to fp16, as llama.cpp's
         *       Q4_1).</li>
         * </ul>
         */
        RowGroups rowGroups() {
            if (rows % RowGroups.ROWS != 0) {
                throw new IllegalArgumentException("MatMulQ" + bits + " takes weights of a multiple of "
                        + RowGroups.ROWS + " rows, got " + rows + " rows");
            }
            int blocks = blocksPerRow();
            int blob = blobBytes();
            ByteBuffer codes = ByteBuffer.allocateDirect(data.capacity()).order(ByteOrder.LITTLE_ENDIAN);
            // an fp32 scale per block, or an fp16 d and m: the same bytes
            ByteBuffer grouped = ByteBuffer.allocateDirect(scales.capacity()).order(ByteOrder.nativeOrder());
            byte[] block = new byte[blob];
            for (int row = 0; row < rows; row++) {
                int group = row / RowGroups.ROWS;
                int within = row % RowGroups.ROWS;
                for (int b = 0; b < blocks; b++) {
                    int to = ((group * blocks + b) * RowGroups.ROWS + within);
                    float scale = scales.getFloat((row * blocks + b) * Float.BYTES);
                    if (bits == 8) {
                        codes.put(to * blob, data, (row * blocks + b) * blob, blob);
                        grouped.putFloat(to * Float.BYTES, scale);
                        continue;
                    }
                    int from = (row * blocks + b) * blob;
                    for (int t = 0; t < blob; t++) {
                        int first = nibble(data, from, t);
                        int second = nibble(data, from, t + blob);
                        block[t] = (byte) (first | second << 4);
                    }
                    codes.put(to * blob, block);
                    int at = ((group * blocks + b) * 2 * RowGroups.ROWS + within) * Short.BYTES;
                    grouped.putShort(at, DType.floatToF16(scale));
                    grouped.putShort(at + RowGroups.ROWS * Short.BYTES,
                            DType.floatToF16(-zeroPoint(row, b) * scale));
                }
            }
            return new RowGroups(codes, grouped);
        }

        /** The 4-bit value at position {@code i} of the values packed from byte {@code from} (low nibble first). */
        private static int nibble(ByteBuffer packed, int from, int i) {
            int b = Byte.toUnsignedInt(packed.get(from + i / 2));
            return (i & 1) == 0 ? b & 0x0F : b >>> 4;
        }

        /** Bytes stored: packed values, scales and zero points. */
        long bytes() {
            return (long) data.capacity() + scales.capacity()
                    + (zeroPoints == null ? 0 : zeroPoints.capacity());
        }
    }

    /**
     * A {@link Quantized} matrix in MatMulQ8's or MatMulQ4's layout ({@link Quantized#rowGroups()}): scales fp32
     * (int8) or the fp16 d and m (int4).
     */
    record RowGroups(ByteBuffer codes, ByteBuffer scales) {
        /** Rows per group: the output columns one MatMulQ8 kernel call computes. */
        static final int ROWS = 4;
    }

    int bits() {
        return bits;
    }

    int blockSize() {
        return blockSize;
    }

    /** Quantizes the {@code rows x cols} matrix that {@code source} reads row by row. */
    Quantized quantize(RowSource source, int rows, int cols) throws IOException {
        int blocks = (cols + blockSize - 1) / blockSize;
        int blob = blockSize * bits / 8;
        long dataBytes = (long) rows * blocks * blob;
        if (dataBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " matrix quantizes to " + dataBytes
                    + " bytes, above the 2 GiB a Java direct buffer holds");
        }
        ByteBuffer data = ByteBuffer.allocateDirect((int) dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer scales = ByteBuffer.allocateDirect(rows * blocks * Float.BYTES).order(ByteOrder.nativeOrder());
        int zpRow = (blocks + 1) / 2;
        ByteBuffer zeroPoints = bits == 4 ? ByteBuffer.allocateDirect(rows * zpRow) : null;
        float[] row = new float[cols];
        byte[] rowData = new byte[blocks * blob];
        byte[] rowZeroPoints = new byte[zpRow];
        int[] codes = new int[blockSize];
        for (int r = 0; r < rows; r++) {
            source.read(r, row);
            java.util.Arrays.fill(rowZeroPoints, (byte) 0);
            for (int b = 0; b < blocks; b++) {
                int from = b * blockSize;
                int to = Math.min(cols, from + blockSize);
                float scale;
                int zeroPoint;
                if (bits == 8) {
                    float absMax = 0;
                    for (int c = from; c < to; c++) {
                        absMax = Math.max(absMax, Math.abs(row[c]));
                    }
                    scale = absMax / 127f;
                    zeroPoint = 128;
                } else {
                    float lo = 0;
                    float hi = 0;
                    for (int c = from; c < to; c++) {
                        lo = Math.min(lo, row[c]);
                        hi = Math.max(hi, row[c]);
                    }
                    scale = (hi - lo) / 15f;
                    zeroPoint = scale == 0 ? 8 : clamp(Math.round(-lo / scale), 0, 15);
                    rowZeroPoints[b / 2] |= (byte) ((b & 1) == 0 ? zeroPoint : zeroPoint << 4);
                }
                int max = (1 << bits) - 1;
                for (int i = 0; i < blockSize; i++) {
                    int c = from + i;
                    codes[i] = c >= to || scale == 0 ? zeroPoint : clamp(Math.round(row[c] / scale) + zeroPoint, 0, max);
                }
                int at = b * blob;
                if (bits == 8) {
                    for (int i = 0; i < blockSize; i++) {
                        rowData[at + i] = (byte) codes[i];
                    }
                } else {
                    for (int i = 0; i < blockSize; i += 2) {
                        rowData[at + i / 2] = (byte) (codes[i] | codes[i + 1] << 4);
                    }
                }
                scales.putFloat((r * blocks + b) * Float.BYTES, scale);
            }
            data.put((int) ((long) r * blocks * blob), rowData);
            if (zeroPoints != null) {
                zeroPoints.put(r * zpRow, rowZeroPoints);
            }
        }
        return new Quantized(bits, blockSize, rows, cols, data, scales, zeroPoints);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
