package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * The element type of the adapter pools a compiled graph reads. {@code FP16} halves the bytes a step streams per
 * bound adapter; only the native LoRA op reads it ({@link LoraKernel#NATIVE}), and the compiler picks it only for
 * a quantized base ({@link CompileOptions#loraPrecision()}), which is approximate already: an fp32 base keeps fp32
 * pools, and with them its parity with the trainer.
 */
public enum LoraPrecision {
    FP32(Float.BYTES, DataType.FLOAT), FP16(2, DataType.FLOAT16);

    /** The largest finite fp16 value; adapter values beyond it cannot go in an FP16 pool. */
    public static final float FP16_MAX = 65504f;

    private final int bytes;
    private final DataType onnxType;

    LoraPrecision(int bytes, DataType onnxType) {
        this.bytes = bytes;
        this.onnxType = onnxType;
    }

    /** Bytes per pool value. */
    public int bytes() {
        return bytes;
    }

    /** The ONNX element type of the graph's {@code lora.*} inputs. */
    public int onnxType() {
        return onnxType.getNumber();
    }

    /** IEEE 754 binary16 bits of {@code f}, rounded to nearest, ties to even (as Java 20's Float.floatToFloat16). */
    public static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0)); // infinity, or a quiet NaN
        }
        int e = exp - 127 + 15;
        if (e >= 31) {
            return (short) (sign | 0x7c00); // beyond fp16's range: infinity
        }
        int half;
        int rem;
        int mid;
        if (e <= 0) { // a subnormal half, or zero: the significand with its implicit bit, shifted into place
            if (e < -10) {
                return (short) sign;
            }
            int shift = 14 - e;
            int full = mant | 0x800000;
            half = full >> shift;
            rem = full & ((1 << shift) - 1);
            mid = 1 << (shift - 1);
        } else {
            half = (e << 10) | (mant >> 13);
            rem = mant & 0x1fff;
            mid = 0x1000;
        }
        if (rem > mid || (rem == mid && (half & 1) != 0)) {
            half++; // a carry out of the significand steps the exponent, up to infinity: still correct
        }
        return (short) (sign | half);
    }
}
