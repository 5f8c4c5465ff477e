package dev.quiver.serving.graph;

import java.nio.ByteBuffer;

/**
 * The data of an initializer kept outside the serialised graph.
 *
 * @param elementType the ONNX {@code TensorProto.DataType} number (FLOAT or UINT8)
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
}
