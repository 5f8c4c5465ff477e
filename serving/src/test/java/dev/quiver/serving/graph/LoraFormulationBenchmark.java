package dev.quiver.serving.graph;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.runtime.SessionSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What one decode step's LoRA branches cost, alone, in five ONNX formulations and Quiver's own op: 196 branches (Qwen3-0.6B's 28
 * blocks x 7 modules) of {@code [tokens, 1024] -> [tokens, 2048]}, chained through their outputs as the decoder
 * chains them, {@code slots} adapter slots of rank 16 bound, rows spread evenly over them:
 * <ul>
 *   <li>{@code masked}: {@link MultiLoraBranch} as compiled (FusedMatMul against every bound slot's A, a mask,
 *       Gemm against every bound slot's B accumulating into the base);</li>
 *   <li>{@code transposed}: the pool as Gemm's left operand, which MLAS reads in place instead of packing
 *       ({@code A [width, in] x x^T}, then a batched MatMul per slot over B stored {@code [slot, out, rank]},
 *       ReduceSum over slots, Transpose, Add);</li>
 *   <li>{@code grouped}: rows gathered per slot ({@code [slots, rows per slot, in]}, padded with a zero row),
 *       a batched FusedMatMul and MatMul against each row's own slot only (no masked FLOPs), and ScatterND-add
 *       back into the base.</li>
 *   <li>{@code merged}: {@code masked} with the A pools of the modules that read one input (q/k/v, gate/up)
 *       side by side in one pool, so one FusedMatMul and one mask serve them all, then a Split and each module's
 *       Gemm.</li>
 *   <li>{@code bt}: {@code masked} with each B pool stored transposed ({@code [out, width]}) and the update
 *       computed transposed ({@code Gemm(B^T, selected^T)}, Transpose, Add), so the pool is Gemm's left operand,
 *       read in place rather than packed.</li>
 *   <li>{@code native}: {@link LoraKernel#NATIVE}, the one op {@code dev.quiver:MultiLora} over {@code masked}'s
 *       inputs, each row against its own slot only (skipped when this build has no native library);
 *       {@code native_fp16} the same over fp16 pools ({@code MultiLoraFp16}, {@link Precision#FP16}).</li>
 * </ul>
 * With {@code same} every branch reads one pool pair (cache-resident, so the figure is compute and op
 * overhead); otherwise each branch has its own pools (38.5 MB per slot in all, streamed from memory as in the
 * engine). Not a test: run by hand, {@code LoraFormulationBenchmark TOKENS SLOTS THREADS distinct|same}.
 */
public final class LoraFormulationBenchmark {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    private static final int INT64 = OnnxMl.TensorProto.DataType.INT64_VALUE;
    private static final int BRANCHES = 196;
    private static final int IN = 1024;
    private static final int OUT = 2048;
    private static final int RANK = 16;

    private LoraFormulationBenchmark() {
    }

    private enum Form { MASKED, TRANSPOSED, GROUPED, MERGED, BT, NATIVE, NATIVE_FP16 }

    /** Modules per block that read one input, in block order: q/k/v, o, gate/up, down. */
    private static final int[] SHARING = {3, 1, 2, 1};

    public static void main(String[] args) throws Exception {
        int tokens = Integer.parseInt(args[0]);
        int slots = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        boolean same = args[3].equals("same");
        int perSlot = (tokens + slots - 1) / slots;
        int width = slots * RANK;
        SplittableRandom random = new SplittableRandom(1);
        List<FloatBuffer> a = new ArrayList<>();
        List<FloatBuffer> b = new ArrayList<>();
        for (int i = 0; i < BRANCHES; i++) {
            a.add(same && i > 0 ? a.get(0) : filled(width * IN, random));
            b.add(same && i > 0 ? b.get(0) : filled(width * OUT, random));
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> common = new HashMap<>();
        common.put("x", OnnxTensor.createTensor(env, filled(tokens * IN, random), new long[] {tokens, IN}));
        common.put("base", OnnxTensor.createTensor(env, filled(tokens * OUT, random), new long[] {tokens, OUT}));
        for (Form form : Form.values()) {
            Map<String, OnnxTensor> in = new HashMap<>(common);
            switch (form) {
                case MASKED, BT, NATIVE, NATIVE_FP16 -> in.put("mask", OnnxTensor.createTensor(env, mask(tokens, slots, false),
                        new long[] {tokens, width}));
                case MERGED -> {
                    for (int k = 1; k <= 3; k++) {
                        in.put("mask" + k, OnnxTensor.createTensor(env, tiled(mask(tokens, slots, false), tokens,
                                width, k), new long[] {tokens, (long) k * width}));
                    }
                    int branch = 0;
                    for (int group = 0; branch < BRANCHES; group++) {
                        int k = SHARING[group % SHARING.length];
                        FloatBuffer merged = ByteBuffer.allocateDirect(k * width * IN * Float.BYTES)
                                .order(ByteOrder.nativeOrder()).asFloatBuffer();
                        for (int j = 0; j < k; j++) {
                            merged.put(j * width * IN, a.get(branch + j), 0, width * IN);
                        }
                        in.put("am" + group, OnnxTensor.createTensor(env, merged, new long[] {(long) k * width, IN}));
                        branch += k;
                    }
                }
                case TRANSPOSED -> in.put("mask", OnnxTensor.createTensor(env, mask(tokens, slots, true),
                        new long[] {width, tokens}));
                case GROUPED -> {
                    long[] order = new long[slots * perSlot];
                    long[][] scatter = new long[order.length][1];
                    for (int s = 0; s < slots; s++) {
                        for (int j = 0; j < perSlot; j++) {
                            int row = s + j * slots; // rows go to slots round-robin, as in the serve benchmark
                            order[s * perSlot + j] = row < tokens ? row : tokens; // padding reads the zero row
                            scatter[s * perSlot + j][0] = row < tokens ? row : 0;  // and adds 0 to row 0
                        }
                    }
                    in.put("order", OnnxTensor.createTensor(env, order));
                    in.put("scatter", OnnxTensor.createTensor(env, scatter));
                    in.put("zero", OnnxTensor.createTensor(env, FloatBuffer.allocate(IN), new long[] {1, IN}));
                }
                default -> throw new IllegalStateException();
            }
            for (int i = 0; i < BRANCHES; i++) {
                if (form == Form.NATIVE_FP16) {
                    in.put("a" + i, OnnxTensor.createTensor(env, halves(a.get(i)), new long[] {width, IN},
                            OnnxJavaType.FLOAT16));
                    in.put("b" + i, OnnxTensor.createTensor(env, halves(b.get(i)), new long[] {width, OUT},
                            OnnxJavaType.FLOAT16));
                    continue;
                }
                if (form == Form.MERGED) {
                    in.put("b" + i, OnnxTensor.createTensor(env, b.get(i), new long[] {width, OUT}));
                    continue;
                }
                in.put("a" + i, OnnxTensor.createTensor(env, a.get(i), form == Form.MASKED || form == Form.BT || form == Form.NATIVE
                        || form == Form.TRANSPOSED ? new long[] {width, IN} : new long[] {slots, RANK, IN}));
                in.put("b" + i, OnnxTensor.createTensor(env, b.get(i), switch (form) {
                    case MASKED, NATIVE -> new long[] {width, OUT};
                    case TRANSPOSED -> new long[] {slots, OUT, RANK};
                    case GROUPED -> new long[] {slots, RANK, OUT};
                    case BT -> new long[] {OUT, width};
                    case MERGED, NATIVE_FP16 -> throw new IllegalStateException();
                }));
            }
            GraphBuilder.Built graph = graph(form, tokens, slots, perSlot);
            if ((form == Form.NATIVE || form == Form.NATIVE_FP16) && QuiverOps.library().isEmpty()) {
                continue;
            }
            try (OrtSession.SessionOptions options = SessionSettings.cpu(threads).options();
                 OrtSession session = env.createSession(graph.modelBytes(), options)) {
                System.out.printf("%-10s tokens %d, slots %d, %s pools: %.2f ms per step of %d branches%n",
                        form.name().toLowerCase(), tokens, slots, same ? "one shared pair of" : "distinct",
                        medianMs(session, in), BRANCHES);
            }
            for (Map.Entry<String, OnnxTensor> e : in.entrySet()) {
                if (!common.containsKey(e.getKey())) {
                    e.getValue().close();
                }
            }
        }
        common.values().forEach(OnnxTensor::close);
    }

    private static GraphBuilder.Built graph(Form form, int tokens, int slots, int perSlot) {
        GraphBuilder g = new GraphBuilder("lora-" + form);
        g.input("x", FLOAT, "tokens", IN);
        g.input("base", FLOAT, "tokens", OUT);
        switch (form) {
            case MASKED, BT, NATIVE, NATIVE_FP16 -> g.input("mask", FLOAT, "tokens", "width");
            case MERGED -> {
                for (int k = 1; k <= 3; k++) {
                    g.input("mask" + k, FLOAT, "tokens", "width" + k);
                }
            }
            case TRANSPOSED -> g.input("mask", FLOAT, "width", "tokens");
            case GROUPED -> {
                g.input("order", INT64, "grouped");
                g.input("scatter", INT64, "grouped", 1);
                g.input("zero", FLOAT, 1, IN);
            }
            default -> throw new IllegalStateException();
        }
        String grouped = null;
        if (form == Form.GROUPED) {
            // one gather per input, shared by the branches that read it (here: all of them)
            String padded = g.op("Concat", List.of("x", "zero"), g.fresh("padded"), GraphBuilder.Attr.i("axis", 0));
            String rows = g.op("Gather", List.of(padded, "order"), g.fresh("rows"));
            grouped = g.op("Reshape", List.of(rows, g.constantLongs(g.fresh("shape"), new long[] {slots, perSlot, IN},
                    3)), g.fresh("grouped"));
        }
        String y = "base";
        if (form == Form.MERGED) {
            int branch = 0;
            for (int group = 0; branch < BRANCHES; group++) {
                int k = SHARING[group % SHARING.length];
                String a = g.input("am" + group, FLOAT, "width" + k, IN);
                String shrunk = g.fresh("shrunk");
                g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of("x", a), List.of(shrunk),
                        GraphBuilder.Attr.i("transB", 1), GraphBuilder.Attr.f("alpha", 1.0f));
                String selected = g.op("Mul", List.of(shrunk, "mask" + k), g.fresh("selected"));
                List<String> parts = new ArrayList<>();
                if (k == 1) {
                    parts.add(selected);
                } else {
                    for (int j = 0; j < k; j++) {
                        parts.add(g.fresh("part"));
                    }
                    g.node("Split", "", List.of(selected), parts, GraphBuilder.Attr.i("axis", 1)); // equal parts
                }
                for (int j = 0; j < k; j++) {
                    String b = g.input("b" + (branch + j), FLOAT, "width", OUT);
                    y = g.op("Gemm", List.of(parts.get(j), b, y), g.fresh("y"));
                }
                branch += k;
            }
            g.output(y, FLOAT, "tokens", OUT);
            return g.build("lora-formulation-benchmark");
        }
        for (int i = 0; i < BRANCHES; i++) {
            if (form == Form.NATIVE_FP16) {
                String a = g.input("a" + i, Precision.FP16.onnxType(), "width", IN);
                String b = g.input("b" + i, Precision.FP16.onnxType(), "width", OUT);
                y = new MultiLoraBranch(g, "mask", LoraKernel.NATIVE, RANK, Precision.FP16)
                        .apply("x", y, a, b, "lora" + i);
                continue;
            }
            String a = form == Form.GROUPED ? g.input("a" + i, FLOAT, slots, RANK, IN) : g.input("a" + i, FLOAT,
                    "width", IN);
            String b = switch (form) {
                case MASKED, NATIVE -> g.input("b" + i, FLOAT, "width", OUT);
                case TRANSPOSED -> g.input("b" + i, FLOAT, slots, OUT, RANK);
                case GROUPED -> g.input("b" + i, FLOAT, slots, RANK, OUT);
                case BT -> g.input("b" + i, FLOAT, OUT, "width");
                case MERGED, NATIVE_FP16 -> throw new IllegalStateException();
            };
            y = switch (form) {
                case MASKED -> new MultiLoraBranch(g, "mask", LoraKernel.ONNX, RANK, Precision.FP32).apply("x", y, a, b, "lora" + i);
                case NATIVE -> new MultiLoraBranch(g, "mask", LoraKernel.NATIVE, RANK, Precision.FP32).apply("x", y, a, b, "lora" + i);
                case BT -> {
                    String shrunk = g.fresh("shrunk");
                    g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of("x", a), List.of(shrunk),
                            GraphBuilder.Attr.i("transB", 1), GraphBuilder.Attr.f("alpha", 1.0f));
                    String selected = g.op("Mul", List.of(shrunk, "mask"), g.fresh("selected"));
                    String deltaT = g.op("Gemm", List.of(b, selected), g.fresh("delta_t"),
                            GraphBuilder.Attr.i("transB", 1));
                    String delta = g.op("Transpose", List.of(deltaT), g.fresh("delta"),
                            GraphBuilder.Attr.ints("perm", 1, 0));
                    yield g.op("Add", List.of(y, delta), g.fresh("y"));
                }
                case TRANSPOSED -> {
                    String shrunk = g.op("Gemm", List.of(a, "x"), g.fresh("shrunk"), GraphBuilder.Attr.i("transB", 1));
                    String selected = g.op("Mul", List.of(shrunk, "mask"), g.fresh("selected"));
                    String perSlotRows = g.op("Reshape", List.of(selected, g.constantLongs(g.fresh("shape"),
                            new long[] {slots, RANK, tokens}, 3)), g.fresh("per_slot"));
                    String expanded = g.op("MatMul", List.of(b, perSlotRows), g.fresh("expanded"));
                    String summed = g.op("ReduceSum", List.of(expanded, g.constantLongs(g.fresh("axes"),
                            new long[] {0}, 1)), g.fresh("summed"), GraphBuilder.Attr.i("keepdims", 0));
                    String delta = g.op("Transpose", List.of(summed), g.fresh("delta"),
                            GraphBuilder.Attr.ints("perm", 1, 0));
                    yield g.op("Add", List.of(y, delta), g.fresh("y"));
                }
                case GROUPED -> {
                    String shrunk = g.fresh("shrunk");
                    g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of(grouped, a), List.of(shrunk),
                            GraphBuilder.Attr.i("transB", 1), GraphBuilder.Attr.f("alpha", 1.0f));
                    String expanded = g.op("MatMul", List.of(shrunk, b), g.fresh("expanded"));
                    String flat = g.op("Reshape", List.of(expanded, g.constantLongs(g.fresh("shape"),
                            new long[] {-1, OUT}, 2)), g.fresh("flat"));
                    yield g.op("ScatterND", List.of(y, "scatter", flat), g.fresh("y"), new GraphBuilder.Attr(
                            OnnxMl.AttributeProto.newBuilder().setName("reduction")
                                    .setType(OnnxMl.AttributeProto.AttributeType.STRING)
                                    .setS(ByteString.copyFromUtf8("add")).build()));
                }
                case MERGED, NATIVE_FP16 -> throw new IllegalStateException();
            };
        }
        g.output(y, FLOAT, "tokens", OUT);
        return g.build("lora-formulation-benchmark");
    }

    // 1 on each row's slot columns; rows go to slots round-robin
    private static FloatBuffer mask(int tokens, int slots, boolean transposed) {
        int width = slots * RANK;
        FloatBuffer m = FloatBuffer.allocate(tokens * width);
        for (int t = 0; t < tokens; t++) {
            int slot = t % slots;
            for (int c = slot * RANK; c < (slot + 1) * RANK; c++) {
                m.put(transposed ? c * tokens + t : t * width + c, 1f);
            }
        }
        return m;
    }

    // the mask repeated k times along its columns
    private static FloatBuffer tiled(FloatBuffer mask, int tokens, int width, int k) {
        FloatBuffer m = FloatBuffer.allocate(tokens * width * k);
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                m.put((t * k + j) * width, mask, t * width, width);
            }
        }
        return m;
    }

    private static double medianMs(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        long[] nanos = new long[40];
        for (int i = -5; i < nanos.length; i++) {
            long t0 = System.nanoTime();
            try (OrtSession.Result ignored = session.run(inputs)) {
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - t0;
                }
            }
        }
        Arrays.sort(nanos);
        return nanos[nanos.length / 2] / 1e6;
    }

    // the same values as fp16, in a direct buffer (shared pools stay shared: one copy per distinct buffer)
    private static final Map<FloatBuffer, ByteBuffer> HALVES = new java.util.IdentityHashMap<>();

    private static ByteBuffer halves(FloatBuffer values) {
        return HALVES.computeIfAbsent(values, v -> {
            ByteBuffer h = ByteBuffer.allocateDirect(v.capacity() * 2).order(ByteOrder.nativeOrder());
            for (int i = 0; i < v.capacity(); i++) {
                h.putShort(i * 2, DType.floatToF16(v.get(i)));
            }
            return h;
        });
    }

    private static FloatBuffer filled(int floats, SplittableRandom random) {
        FloatBuffer f = ByteBuffer.allocateDirect(Math.max(Float.BYTES, floats * Float.BYTES))
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < floats; i++) {
            f.put(i, (float) (random.nextDouble() - 0.5) * 0.01f);
        }
        return f;
    }
}
