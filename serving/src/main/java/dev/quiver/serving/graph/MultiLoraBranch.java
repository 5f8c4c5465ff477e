package dev.quiver.serving.graph;

import java.util.List;

/**
 * The graph op that applies one adapter slot per batch row to a linear layer's output:
 * {@code y[b] += scale[s_b] * (x[b] @ A[s_b]) @ B[s_b]}, where {@code s_b = adapter_slots[b]},
 * {@code A} is the {@code [slots, in, rank]} pool, {@code B} the {@code [slots, rank, out]} pool and
 * {@code scale} the {@code [slots]} pool. Slot 0 is all zeros, so base rows get exactly the base output.
 * Ranks below the pool rank are zero-padded, which adds nothing.
 */
final class MultiLoraBranch {
    private final GraphBuilder g;
    private final String slots;
    private String scaleShape;

    /** {@code slots} names the int64 [batch] slot index input. */
    MultiLoraBranch(GraphBuilder g, String slots) {
        this.g = g;
        this.slots = slots;
    }

    /** Returns {@code base} plus the slot-selected low-rank update of input {@code x} ([batch, seq, in]). */
    String apply(String x, String base, String aPool, String bPool, String scalePool, String prefix) {
        // gather the row's factors first: a [batch, in, rank] copy is far cheaper than x @ every slot's A
        String a = g.op("Gather", List.of(aPool, slots), prefix + ".a_rows", GraphBuilder.Attr.i("axis", 0));
        String b = g.op("Gather", List.of(bPool, slots), prefix + ".b_rows", GraphBuilder.Attr.i("axis", 0));
        String s = g.op("Gather", List.of(scalePool, slots), prefix + ".scale_rows", GraphBuilder.Attr.i("axis", 0));
        if (scaleShape == null) {
            scaleShape = g.constantLongs("lora_scale_shape", new long[] {-1, 1, 1}, 3);
        }
        String s3 = g.op("Reshape", List.of(s, scaleShape), prefix + ".scale_rows3");
        String shrunk = g.op("MatMul", List.of(x, a), prefix + ".shrink");
        // scaling the rank-wide intermediate costs rank, not out, multiplies per token
        String scaled = g.op("Mul", List.of(shrunk, s3), prefix + ".scaled");
        String expanded = g.op("MatMul", List.of(scaled, b), prefix + ".expand");
        return g.op("Add", List.of(base, expanded), prefix + ".out");
    }
}
