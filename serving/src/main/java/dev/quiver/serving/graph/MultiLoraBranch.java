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
 */
final class MultiLoraBranch {
    private final GraphBuilder g;
    private final String mask;

    /** {@code mask} names the float [tokens, width] mask input. */
    MultiLoraBranch(GraphBuilder g, String mask) {
        this.g = g;
        this.mask = mask;
    }

    /** Returns {@code base} plus the slot-selected low-rank update of token rows {@code x} [tokens, in]. */
    String apply(String x, String base, String a, String b, String prefix) {
        String shrunk = g.fresh(prefix + ".shrink");
        g.node("FusedMatMul", GraphBuilder.MS_DOMAIN, List.of(x, a), List.of(shrunk),
                GraphBuilder.Attr.i("transB", 1), GraphBuilder.Attr.f("alpha", 1.0f)); // [tokens, width]
        String selected = g.op("Mul", List.of(shrunk, mask), prefix + ".selected");   // [tokens, width]
        return g.op("Gemm", List.of(selected, b, base), prefix + ".out");              // [tokens, out]
    }
}
