package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Writes an ONNX graph node by node. Large tensors (fp32 weights, quantized uint8 blocks and their scales) are
 * declared as external initializers, never serialised into the protobuf: that lifts protobuf's 2 GiB limit, and
 * they reach ONNX Runtime either as direct buffers at session creation or in a weights file beside the graph
 * ({@link CompiledDecoder#writeTo}).
 */
public final class GraphBuilder {
    /** ONNX opset of the default domain; 17 has every standard op the decoder uses. */
    public static final int OPSET = 17;
    public static final String MS_DOMAIN = "com.microsoft";
    /** Quiver's own ops ({@code src/main/native}); imported only by a graph that uses one. */
    public static final String QUIVER_DOMAIN = "dev.quiver";
    /**
     * The location written into external-data initializers; ORT never opens it because the data is supplied,
     * and {@link CompiledDecoder#writeTo} replaces it with the weights file's name and offsets.
     */
    static final String EXTERNAL_LOCATION = "quiver-supplied-at-session-creation";

    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder();
    private final Map<String, ExternalTensor> external = new LinkedHashMap<>();
    private final Set<String> domains = new TreeSet<>();
    private int counter;

    public GraphBuilder(String name) {
        graph.setName(name);
    }

    /** A fresh value name with {@code prefix}, unique in this graph. */
    public String fresh(String prefix) {
        return prefix + "_" + (counter++);
    }

    /** Declares a graph input; each of {@code dims} is a size (a number) or a symbolic dimension (a name). */
    public String input(String name, int elementType, Object... dims) {
        graph.addInput(valueInfo(name, elementType, dims));
        return name;
    }

    /** Declares a graph output, dimensions as in {@link #input}. */
    public void output(String name, int elementType, Object... dims) {
        graph.addOutput(valueInfo(name, elementType, dims));
    }

    /** A float initializer whose values ORT reads from {@code data} (direct, native order) without a copy. */
    public String externalFloat(String name, ByteBuffer data, long... shape) {
        return external(name, OnnxMl.TensorProto.DataType.FLOAT, Float.BYTES, data, shape);
    }

    /** An fp16 initializer whose values ORT reads from {@code data} (direct, native order) without a copy. */
    public String externalFloat16(String name, ByteBuffer data, long... shape) {
        return external(name, OnnxMl.TensorProto.DataType.FLOAT16, Short.BYTES, data, shape);
    }

    /** A uint8 initializer whose bytes ORT reads from {@code data} (direct) without a copy. */
    public String externalUint8(String name, ByteBuffer data, long... shape) {
        return external(name, OnnxMl.TensorProto.DataType.UINT8, 1, data, shape);
    }

    private String external(String name, OnnxMl.TensorProto.DataType type, int elementBytes, ByteBuffer data,
                            long... shape) {
        if (!data.isDirect()) {
            throw new IllegalArgumentException("initializer " + name + " must be a direct buffer");
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (data.capacity() != n * elementBytes) {
            throw new IllegalArgumentException("initializer " + name + " has " + data.capacity()
                    + " bytes for shape " + java.util.Arrays.toString(shape) + " of " + elementBytes + "-byte values");
        }
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder()
                .setName(name)
                .setDataType(type.getNumber())
                .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL);
        for (long d : shape) {
            t.addDims(d);
        }
        t.addExternalData(entry("location", EXTERNAL_LOCATION));
        t.addExternalData(entry("offset", "0"));
        t.addExternalData(entry("length", Long.toString(n * elementBytes)));
        graph.addInitializer(t);
        external.put(name, new ExternalTensor(type.getNumber(), shape.clone(), data));
        return name;
    }

    /** A small int64 constant stored in the graph itself. */
    public String constantLongs(String name, long[] values, long... shape) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder()
                .setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber());
        for (long d : shape) {
            t.addDims(d);
        }
        for (long v : values) {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return name;
    }

    /** A small float constant stored in the graph itself. */
    public String constantFloats(String name, float[] values, long... shape) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder()
                .setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
        for (long d : shape) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        graph.addInitializer(t);
        return name;
    }

    /** Adds a node of the default domain with one output named {@code output}. */
    public String op(String opType, List<String> inputs, String output, Attr... attrs) {
        node(opType, "", inputs, List.of(output), attrs);
        return output;
    }

    /** Adds a node; an empty string in {@code inputs} or {@code outputs} skips an optional slot. */
    public void node(String opType, String domain, List<String> inputs, List<String> outputs, Attr... attrs) {
        if (!domain.isEmpty() && !domain.equals(MS_DOMAIN)) {
            domains.add(domain);
        }
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder()
                .setOpType(opType)
                .setName(fresh(opType))
                .setDomain(domain)
                .addAllInput(inputs)
                .addAllOutput(outputs);
        for (Attr a : attrs) {
            n.addAttribute(a.proto());
        }
        graph.addNode(n);
    }

    /** The finished model and the buffers its external initializers read. */
    public Built build(String producer) {
        OnnxMl.ModelProto.Builder model = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName(producer)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        for (String domain : domains) {
            model.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(1));
        }
        model.setGraph(graph);
        return new Built(model.build().toByteArray(), Map.copyOf(external));
    }

    /** A serialised model plus the data of its external initializers. */
    public record Built(byte[] modelBytes, Map<String, ExternalTensor> externalData) {
    }

    /** A node attribute. */
    public record Attr(OnnxMl.AttributeProto proto) {
        public static Attr i(String name, long value) {
            return new Attr(OnnxMl.AttributeProto.newBuilder().setName(name)
                    .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value).build());
        }

        public static Attr f(String name, float value) {
            return new Attr(OnnxMl.AttributeProto.newBuilder().setName(name)
                    .setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(value).build());
        }

        public static Attr s(String name, String value) {
            return new Attr(OnnxMl.AttributeProto.newBuilder().setName(name)
                    .setType(OnnxMl.AttributeProto.AttributeType.STRING)
                    .setS(ByteString.copyFromUtf8(value)).build());
        }

        public static Attr ints(String name, long... values) {
            OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name)
                    .setType(OnnxMl.AttributeProto.AttributeType.INTS);
            for (long v : values) {
                b.addInts(v);
            }
            return new Attr(b.build());
        }
    }

    private static OnnxMl.StringStringEntryProto entry(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, int elementType, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        List<OnnxMl.TensorShapeProto.Dimension> ds = new ArrayList<>();
        for (Object d : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder db = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                db.setDimParam(s);
            } else {
                db.setDimValue(((Number) d).longValue());
            }
            ds.add(db.build());
        }
        shape.addAllDim(ds);
        return OnnxMl.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(elementType).setShape(shape)))
                .build();
    }
}
