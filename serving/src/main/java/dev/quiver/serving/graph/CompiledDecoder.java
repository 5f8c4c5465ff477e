package dev.quiver.serving.graph;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A decoder compiled to ONNX: the serialised graph, and the direct buffers behind its external initializers
 * (the base weights, fp32 or block-quantized), which ONNX Runtime copies when a session is created.
 */
public record CompiledDecoder(DecoderSignature signature, byte[] modelBytes, Map<String, ExternalTensor> initializers) {
    /**
     * Bytes of the base weights as the graph stores them (what every decode step reads); a buffer that two
     * initializers share (the same ByteBuffer object) (the quantized embedding, which is also the tied head) counts once.
     */
    public long weightBytes() {
        Set<Object> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        long bytes = 0;
        for (ExternalTensor t : initializers.values()) {
            if (seen.add(t.bytes())) {
                bytes += t.bytes().capacity();
            }
        }
        return bytes;
    }
}
