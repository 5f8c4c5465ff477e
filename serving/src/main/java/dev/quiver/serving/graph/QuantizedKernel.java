package dev.quiver.serving.graph;

/**
 * Which op multiplies by an int8 or int4 base weight (block-quantized, {@link Quantization#INT8},
 * {@link Quantization#INT4}).
 * <ul>
 *   <li>{@code nbits}: ONNX Runtime's {@code com.microsoft:MatMulNBits} at accuracy level 4; runs on any
 *       execution provider;</li>
 *   <li>{@code native}: Quiver's CPU ops {@code dev.quiver:MatMulQ8} and {@code MatMulQ4}
 *       ({@code serving/src/main/native/matmul_q.c}) over the same codes in row groups of four
 *       ({@code BlockQuantizer.Quantized.rowGroups()}), with AVX-512 VNNI kernels and AVX2 ones (x86-64-v3, for
 *       CPUs without AVX-512) for int8 blocks of 64 and 128 and int4 blocks of 32: a kernel call streams one run
 *       of consecutive bytes, and no packed copy of the weight is made (docs/benchmarks.md, "The native int8 linear
 *       and attention ops", "The native int4 linear op" and "AVX2 kernels for the native ops").
 *       Needs {@link QuiverOps#library()}.</li>
 * </ul>
 */
public enum QuantizedKernel {
    NBITS, NATIVE;

    /** The property that overrides {@link #forCpu()}: {@code nbits} or {@code native}. */
    public static final String PROPERTY = "quiver.serving.quantized-kernel";

    /** The spelling in configuration: {@code nbits}, {@code native}. */
    public String label() {
        return QuiverOps.label(this);
    }

    /**
     * The op for a CPU session: {@code native} when this build has the library and the CPU has AVX2 (all of
     * x86-64-v3, which every AVX-512 VNNI CPU has too; elsewhere the op runs its portable kernels, slower than
     * MatMulNBits), else {@code nbits}; the system property {@value #PROPERTY} picks one (native fails where the
     * library is missing).
     */
    public static QuantizedKernel forCpu() {
        return QuiverOps.choose(PROPERTY, NBITS, NATIVE, QuiverOps.cpuHas(QuiverOps.X86_64_V3));
    }
}
