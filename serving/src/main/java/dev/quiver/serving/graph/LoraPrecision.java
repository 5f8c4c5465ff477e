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
}
