package dev.quiver.adapters.safetensors;

import java.nio.ByteBuffer;

/** Converts between float arrays and the F32/F16/BF16 little-endian byte layouts. */
final class FloatCodec {
    private FloatCodec() {
    }

    static void encode(float[] src, int offset, int count, DType dtype, ByteBuffer dst) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst.putFloat(src[offset + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(DType.floatToF16(src[offset + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(DType.floatToBf16(src[offset + i]));
                }
            }
            default -> throw new IllegalArgumentException("cannot store floats as " + dtype);
        }
    }

    static void decode(ByteBuffer src, long fromElement, DType dtype, float[] dst, int offset, int count) {
        int base = Math.toIntExact(fromElement * dtype.bytes());
        switch (dtype) {
            case F32 -> src.position(base).asFloatBuffer().get(dst, offset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = DType.f16ToFloat(src.getShort(base + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = DType.bf16ToFloat(src.getShort(base + 2 * i));
                }
            }
            default -> throw new IllegalArgumentException("cannot read " + dtype + " as floats");
        }
    }
}
