package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A decoder compiled to ONNX: the serialised graph, and the direct buffers behind its external initializers
 * (the base weights, fp32 or block-quantized), which ONNX Runtime copies when a session is created.
 */
public record CompiledDecoder(DecoderSignature signature, byte[] modelBytes, Map<String, ExternalTensor> initializers) {
    /** The graph file {@link #writeTo} writes; ONNX Runtime finds {@link #WEIGHTS_FILE} beside it. */
    public static final String MODEL_FILE = "model.onnx";
    public static final String WEIGHTS_FILE = "weights.bin";
    /**
     * Initializers start on 64 KiB boundaries of the weights file: ONNX Runtime maps external data into memory
     * instead of reading it into a buffer of its own when the offset is a multiple of the allocation granularity.
     */
    static final long ALIGNMENT = 1 << 16;

    /**
     * Bytes of the base weights every decode step reads: each initializer's, but those that only the embedding
     * lookup reads (a step reads one row of the table per token); a buffer that two initializers share (the same
     * ByteBuffer object: the embedding table, which is also the tied head's weight under MatMulNBits) counts once.
     */
    public long weightBytes() {
        Set<String> lookupOnly = lookupOnlyInitializers();
        Set<ByteBuffer> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long bytes = 0;
        for (Map.Entry<String, ExternalTensor> e : initializers.entrySet()) {
            if (!lookupOnly.contains(e.getKey()) && seen.add(e.getValue().bytes())) {
                bytes += e.getValue().bytes().capacity();
            }
        }
        return bytes;
    }

    /** The initializers that no node but a Gather or GatherBlockQuantized reads. */
    private Set<String> lookupOnlyInitializers() {
        OnnxMl.GraphProto graph;
        try {
            graph = OnnxMl.ModelProto.parseFrom(modelBytes).getGraph();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException("the compiled graph does not parse", e);
        }
        Set<String> gathered = new java.util.HashSet<>();
        Set<String> other = new java.util.HashSet<>();
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            boolean lookup = node.getOpType().equals("Gather") || node.getOpType().equals("GatherBlockQuantized");
            (lookup ? gathered : other).addAll(node.getInputList());
        }
        gathered.removeAll(other);
        return gathered;
    }

    /**
     * Writes the graph as {@code dir/model.onnx} with its initializers in {@code dir/weights.bin} (ONNX's external
     * data: location, offset, length), each shared buffer once, so a session can be created from the file alone.
     */
    public void writeTo(Path dir) throws IOException {
        OnnxMl.ModelProto model = OnnxMl.ModelProto.parseFrom(modelBytes);
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        Map<ByteBuffer, Long> offsets = new IdentityHashMap<>();
        try (FileChannel out = FileChannel.open(dir.resolve(WEIGHTS_FILE), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            long end = 0;
            for (int i = 0; i < graph.getInitializerCount(); i++) {
                OnnxMl.TensorProto.Builder t = graph.getInitializerBuilder(i);
                ExternalTensor data = initializers.get(t.getName());
                if (data == null) {
                    continue;
                }
                Long offset = offsets.get(data.bytes());
                if (offset == null) {
                    offset = (end + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
                    ByteBuffer src = data.bytes().duplicate().clear();
                    for (long at = offset; src.hasRemaining(); ) {
                        at += out.write(src, at);
                    }
                    end = offset + data.bytes().capacity();
                    offsets.put(data.bytes(), offset);
                }
                t.clearExternalData()
                        .addExternalData(entry("location", WEIGHTS_FILE))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(data.bytes().capacity())));
            }
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve(MODEL_FILE), StandardOpenOption.CREATE_NEW)) {
            model.toBuilder().setGraph(graph).build().writeTo(out);
        }
    }

    private static OnnxMl.StringStringEntryProto entry(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
