package dev.quiver.serving.graph;

/**
 * Which op multiplies by an int8 base weight (block-quantized, {@link Quantization#INT8}).
 * <ul>
 *   <li>{@code nbits}: ONNX Runtime's {@code com.microsoft:MatMulNBits} at accuracy level 4; runs on any
 *       execution provider;</li>
 *   <li>{@code native}: Quiver's CPU op {@code dev.quiver:MatMulQ8} ({@code serving/src/main/native}) over the
 *       same codes and scales in row groups of four ({@code BlockQuantizer.Quantized.rowGroups()}), with AVX-512
 *       VNNI kernels for blocks of 64 and 128: a kernel call streams one run of consecutive bytes, and no packed
 *       copy of the weight is made (docs/benchmarks.md, "The native int8 linear and attention ops"). Needs {@link QuiverOps#library()}.</li>
 * </ul>
 */
public enum Int8Kernel {
    NBITS, NATIVE;

    /** The property that overrides {@link #forCpu()}: {@code nbits} or {@code native}. */
    public static final String PROPERTY = "quiver.serving.int8-kernel";

    /** The spelling in configuration: {@code nbits}, {@code native}. */
    public String label() {
        return QuiverOps.label(this);
    }

    /**
     * The op for a CPU session: {@code native} when this build has the library and the CPU has AVX-512 VNNI
     * (elsewhere the op runs its portable kernels, slower than MatMulNBits), else {@code nbits}; the system
     * property {@value #PROPERTY} picks one (native fails where the library is missing).
     */
    public static Int8Kernel forCpu() {
        return QuiverOps.choose(PROPERTY, NBITS, NATIVE, QuiverOps.cpuHas(QuiverOps.X86_64_V4) && QuiverOps.cpuHas("avx512_vnni"));
    }
}
