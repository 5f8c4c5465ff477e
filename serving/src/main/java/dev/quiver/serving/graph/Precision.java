package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * The element type of a tensor a compiled graph reads that the engine may keep in fp16: the adapter pools and the
 * KV cache. {@code FP16} halves the bytes a step streams; only the native ops read it ({@link LoraKernel#NATIVE},
 * {@link AttentionKernel#NATIVE}), and the compiler picks it only for a quantized base
 * ({@link CompileOptions#loraPrecision()}, {@link CompileOptions#kvPrecision()}), which is approximate already: an
 * fp32 base keeps fp32 pools and cache, and with them its parity with the trainer.
 */
public enum Precision {
    FP32(Float.BYTES, DataType.FLOAT), FP16(2, DataType.FLOAT16);

    /** The largest finite fp16 value; adapter values beyond it cannot go in an FP16 pool. */
    public static final float FP16_MAX = 65504f;

    private final int bytes;
    private final DataType onnxType;

    Precision(int bytes, DataType onnxType) {
        this.bytes = bytes;
        this.onnxType = onnxType;
    }

    /** Bytes per value. */
    public int bytes() {
        return bytes;
    }

    /** The ONNX element type of the graph's inputs of this precision. */
    public int onnxType() {
        return onnxType.getNumber();
    }
}
