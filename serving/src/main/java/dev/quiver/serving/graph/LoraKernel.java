package dev.quiver.serving.graph;

/**
 * Which graph op applies the adapters of a step ({@link MultiLoraBranch}).
 * <ul>
 *   <li>{@code onnx}: three ONNX Runtime ops (FusedMatMul, Mul, Gemm), every row against every bound slot; runs
 *       on any execution provider;</li>
 *   <li>{@code native}: Quiver's CPU op {@code dev.quiver:MultiLora} ({@code serving/src/main/native}), each row
 *       against its own slot only, each slot's pools read once; needs {@link QuiverOps#library()}.</li>
 * </ul>
 */
public enum LoraKernel {
    ONNX, NATIVE;

    /** The property that overrides {@link #forCpu()}: {@code onnx} or {@code native}. */
    public static final String PROPERTY = "quiver.serving.lora-kernel";

    /** The spelling in configuration: {@code onnx}, {@code native}. */
    public String label() {
        return QuiverOps.label(this);
    }

    /**
     * The kernel for a CPU session: {@code native} when this build has the library for this platform, else
     * {@code onnx}; the system property {@value #PROPERTY} picks one (native fails where the library is missing).
     */
    public static LoraKernel forCpu() {
        return QuiverOps.choose(PROPERTY, ONNX, NATIVE, true);
    }
}
