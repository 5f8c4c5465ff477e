package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quiver.serving.graph.QuiverOps;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How ONNX Runtime runs a session: intra-op threads, the execution provider, and optionally a profile. The
 * decoder and the serve benchmark's matmul-peak probe build their sessions from it, so both run alike.
 *
 * @param threads       intra-op threads
 * @param provider      where the graph runs
 * @param profilePrefix null, or the path prefix of ONNX Runtime's JSON profile (one event per node run)
 */
public record SessionSettings(int threads, ExecutionProvider provider, Path profilePrefix) {
    public SessionSettings {
        if (threads < 1 || provider == null) {
            throw new IllegalArgumentException("a session needs threads >= 1 and an execution provider; got "
                    + threads + ", " + provider);
        }
    }

    /** The CPU with {@code threads} intra-op threads, no profile. */
    public static SessionSettings cpu(int threads) {
        return new SessionSettings(threads, ExecutionProvider.CPU, null);
    }

    /** The same settings writing ONNX Runtime's profile to {@code prefix}{@code _<timestamp>.json}. */
    public SessionSettings withProfile(Path prefix) {
        return new SessionSettings(threads, provider, prefix);
    }

    /** Fresh session options for these settings; the caller closes them. */
    public OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            // spinning workers fight the engine and HTTP threads on small boxes: measured 2x slower decode on 2 cores
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            provider.addTo(options);
            if (provider.kind() == ExecutionProvider.Kind.CPU) {
                // graphs compiled with a NATIVE LoraKernel, QuantizedKernel or AttentionKernel need it; others never call it
                Optional<Path> ops = QuiverOps.library();
                if (ops.isPresent()) {
                    options.registerCustomOpLibrary(ops.get().toString());
                }
            }
            if (profilePrefix != null) {
                options.enableProfiling(profilePrefix.toString());
            }
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }
}
