package dev.quiver.serving.graph;

/**
 * Which op attends over the KV cache in each layer.
 * <ul>
 *   <li>{@code gqa}: ONNX Runtime's {@code com.microsoft:GroupQueryAttention}; runs on any execution provider;</li>
 *   <li>{@code native}: Quiver's CPU op {@code dev.quiver:Attention} ({@code serving/src/main/native}), the same
 *       inputs, outputs and results for the steps the engine runs, each cached key and value read once per KV
 *       head for the query heads that share it (docs/benchmarks.md, "The native int8 linear and attention ops"). Needs
 *       {@link QuiverOps#library()}; AVX-512 and AVX2 kernels, portable ones elsewhere.</li>
 * </ul>
 */
public enum AttentionKernel {
    GQA, NATIVE;

    /** The property that overrides {@link #forCpu()}: {@code gqa} or {@code native}. */
    public static final String PROPERTY = "quiver.serving.attention-kernel";

    /** The spelling in configuration: {@code gqa}, {@code native}. */
    public String label() {
        return QuiverOps.label(this);
    }

    /**
     * The op for a CPU session: {@code native} when this build has the library and the CPU has AVX2 (all of
     * x86-64-v3, which every AVX-512 CPU has too), else {@code gqa}; the system property {@value #PROPERTY} picks
     * one (native fails where the library is missing).
     */
    public static AttentionKernel forCpu() {
        return QuiverOps.choose(PROPERTY, GQA, NATIVE, QuiverOps.cpuHas(QuiverOps.X86_64_V3));
    }
}
