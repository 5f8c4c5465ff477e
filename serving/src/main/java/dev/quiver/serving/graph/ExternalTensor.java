package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;

/**
 * The data of an initializer kept outside the serialised graph.
 *
 * @param elementType the ONNX {@code TensorProto.DataType} number (FLOAT, FLOAT16 or UINT8)
 * @param shape       its dimensions
 * @param bytes       its values, a direct buffer in native byte order
 */
public record ExternalTensor(int elementType, long[] shape, ByteBuffer bytes) {
    public ExternalTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** A tensor over {@link #bytes()} without a copy, for a session's external initializers. */
    public OnnxTensor tensor(OrtEnvironment env) throws OrtException {
        if (elementType == DataType.FLOAT_VALUE) {
            return OnnxTensor.createTensor(env, bytes.asFloatBuffer(), shape);
        }
        if (elementType == DataType.FLOAT16_VALUE) {
            return OnnxTensor.createTensor(env, bytes, shape, OnnxJavaType.FLOAT16);
        }
        if (elementType == DataType.UINT8_VALUE) {
            return OnnxTensor.createTensor(env, bytes, shape, OnnxJavaType.UINT8);
        }
        throw new IllegalArgumentException("initializer of ONNX element type " + elementType
                + " is none of FLOAT, FLOAT16, UINT8");
    }
}
