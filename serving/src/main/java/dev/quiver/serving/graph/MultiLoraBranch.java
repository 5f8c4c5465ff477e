package dev.quiver.serving.graph;

import java.util.List;

/**
 * The graph op that applies one adapter per token row to a linear layer's output {@code y} [tokens, out]:
 * {@code y += ((x @ A^T) * mask) @ B}, with {@code A} [width, in] and {@code B} [width, out] a run of adapter
 * slots ({@code rank} rows each: PEFT's {@code lora_A} as stored, and {@code lora_B} transposed and
 * pre-multiplied by the adapter's scale), and {@code mask} [tokens, width] 1 on the columns of each token's
 * slot, 0 elsewhere. So each token gets {@code scale * (x @ A_s^T) @ B_s^T} of its own adapter {@code s}, and
 * a base token exactly the base output; ranks below the pool rank are zero-padded.
 *
 * <p>Why this shape: three ops and no per-row Gather of the factors (which copied {@code batch} adapters'
 * worth of weights every step). The runtime binds, zero-copy, only the run of slots the step uses: one slot
 * for a prefill chunk, width 0 when every row is on the base; the expand accumulates straight into {@code y}
 * (Gemm's {@code C}). A token multiplies against every bound slot, {@code width / rank} times the FLOPs of its
 * own adapter, but each adapter's weights are read once per step, however many rows use it.
 *
 * <p>With {@link LoraKernel#NATIVE} the same inputs go to one op, {@code dev.quiver:MultiLora}
 * ({@code src/main/native/multi_lora.c}), which computes the same sum but multiplies each row only against the
 * slots its mask selects, and leaves a base row's output as it is, in place; {@code dev.quiver:MultiLoraFp16} is the
 * same op over fp16 pools ({@link Precision#FP16}).
 */
final class MultiLoraBranch {
    private final GraphBuilder g;
    private final String mask;
    private final LoraKernel kernel;
    private final int rank;
    private final Precision precision;

    /**
     * {@code mask} names the float [tokens, width] mask input; {@code rank} is the pool rank (rows per slot);
     * {@code precision} the pools' element type (fp16 only for the native op).
     */
    MultiLoraBranch(GraphBuilder g, String mask, LoraKernel kernel, int rank, Precision precision) {
        if (precision == Precision.FP16 && kernel != LoraKernel.NATIVE) {
            throw new IllegalArgumentException("fp16 LoRA pools need the native LoRA op; the ONNX ops read fp32");
        }
        this.g = g;
        this.mask = mask;
        this.kernel = kernel;
        this.rank = rank;
        this.precision = precision;
    }

    /** Returns {@code base} plus the slot-selected low-rank update of token rows {@code x} [tokens, in]. */
    String apply(String x, String base, String a, String b, String prefix) {
        if (kernel == LoraKernel.NATIVE) {
            String out = g.fresh(prefix + ".out");
            g.node(precision == Precision.FP16 ? "MultiLoraFp16" : "MultiLora", GraphBuilder.QUIVER_DOMAIN,
                    List.of(x, base, a, b, mask), List.of(out),
                    GraphBuilder.Attr.i("rank", rank));
            return out;
        }
        String shrunk = g.fresh(prefix + ".shrink");
        g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of(x, a), List.of(shrunk),
                GraphBuilder.Attr.i("transB", 1), GraphBuilder.Attr.f("alpha", 1.0f)); // [tokens, width]
        String selected = g.op("Mul", List.of(shrunk, mask), prefix + ".selected");   // [tokens, width]
        return g.op("Gemm", List.of(selected, b, base), prefix + ".out");              // [tokens, out]
    }
}
