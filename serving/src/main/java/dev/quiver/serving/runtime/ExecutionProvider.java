package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import java.util.EnumSet;
import java.util.Locale;

/**
 * Where ONNX Runtime runs the decoder: on the CPU, or on CUDA device {@code deviceId} (which needs the
 * {@code onnxruntime_gpu} build, selected by Maven's {@code -Pgpu} profile, and a CUDA 12 + cuDNN 9 runtime).
 *
 * @param kind     {@code cpu} or {@code cuda}
 * @param deviceId the CUDA device ordinal; 0 for the CPU
 */
public record ExecutionProvider(Kind kind, int deviceId) {
    /** The CPU provider, the default build's only one. */
    public static final ExecutionProvider CPU = new ExecutionProvider(Kind.CPU, 0);

    /** The providers Quiver can ask for. */
    public enum Kind {
        CPU, CUDA
    }

    public ExecutionProvider {
        if (kind == null) {
            throw new IllegalArgumentException("execution provider kind must be set (cpu or cuda)");
        }
        if (deviceId < 0 || (kind == Kind.CPU && deviceId != 0)) {
            throw new IllegalArgumentException("device id " + deviceId + " is not valid for execution provider "
                    + kind.name().toLowerCase(Locale.ROOT) + ": cuda takes a device ordinal >= 0, cpu none");
        }
    }

    /** Parses {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}; anything else names the accepted forms. */
    public static ExecutionProvider parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda")) {
            return new ExecutionProvider(Kind.CUDA, 0);
        }
        if (v.startsWith("cuda:")) {
            try {
                return new ExecutionProvider(Kind.CUDA, Integer.parseInt(v.substring("cuda:".length())));
            } catch (IllegalArgumentException e) {
                // not a number, or a negative one: the message below says what is accepted
            }
        }
        throw new IllegalArgumentException("execution provider must be cpu, cuda or cuda:N (a device ordinal);"
                + " got '" + value + "'");
    }

    /** The spelling {@link #parse} reads: {@code cpu} or {@code cuda:N}. */
    public String label() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + deviceId;
    }

    /**
     * Adds this provider to {@code options} (nothing for the CPU, which every session has), after checking that
     * this ONNX Runtime build has it, so a CPU-only build fails with what to install instead of a native error.
     */
    void addTo(OrtSession.SessionOptions options) throws OrtException {
        if (kind == Kind.CPU) {
            return;
        }
        EnumSet<OrtProvider> available = OrtEnvironment.getAvailableProviders();
        if (!available.contains(OrtProvider.CUDA)) {
            throw new IllegalStateException("execution provider cuda needs the onnxruntime_gpu build (mvn -Pgpu ...)"
                    + " and a CUDA 12 + cuDNN 9 runtime; this build has " + available);
        }
        try {
            options.addCUDA(deviceId);
        } catch (OrtException e) {
            // the GPU build is there but its provider library could not load CUDA or cuDNN, or no such device
            throw new IllegalStateException("execution provider cuda could not open CUDA device " + deviceId
                    + ": this is the onnxruntime_gpu build (" + available + "), so it needs a CUDA 12 + cuDNN 9"
                    + " runtime on the library path (LD_LIBRARY_PATH) and that device; ONNX Runtime said: "
                    + e.getMessage(), e);
        }
    }
}
