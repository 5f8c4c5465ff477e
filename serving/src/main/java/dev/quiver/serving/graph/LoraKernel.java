package dev.quiver.serving.graph;

import java.util.Locale;

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
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The kernel for a CPU session: {@code native} when this build has the library for this platform, else
     * {@code onnx}; the system property {@value #PROPERTY} picks one (native fails where the library is missing).
     */
    public static LoraKernel forCpu() {
        String chosen = System.getProperty(PROPERTY);
        if (chosen == null || chosen.isBlank()) {
            return QuiverOps.library().isPresent() ? NATIVE : ONNX;
        }
        for (LoraKernel k : values()) {
            if (k.label().equalsIgnoreCase(chosen.trim())) {
                if (k == NATIVE && QuiverOps.library().isEmpty()) {
                    throw new IllegalStateException(PROPERTY + "=native, but this build has no Quiver ops library"
                            + " for " + QuiverOps.platform() + " (" + QuiverOps.RESOURCE_DIR + "); build on"
                            + " linux-x86_64 with gcc, or set " + PROPERTY + "=onnx");
                }
                return k;
            }
        }
        throw new IllegalArgumentException(PROPERTY + " must be onnx or native; got '" + chosen + "'");
    }
}
