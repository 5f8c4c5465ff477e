package dev.quiver.serving.graph;

import java.nio.FloatBuffer;
import java.util.Map;

/**
 * A decoder compiled to ONNX: the serialised graph, and the direct fp32 buffers behind its external
 * initializers (the base weights), which ONNX Runtime copies when a session is created.
 */
public record CompiledDecoder(DecoderSignature signature, byte[] modelBytes, Map<String, FloatBuffer> initializers,
                              Map<String, long[]> initializerShapes) {
    /** Bytes of the base weights as the graph stores them (what every decode step reads). */
    public long weightBytes() {
        return initializers.values().stream().mapToLong(b -> (long) b.capacity() * Float.BYTES).sum();
    }
}
