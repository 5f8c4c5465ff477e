package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.CompiledDecoder;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.lora.LoraPools;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A forward pass of one sequence through the compiled serving graph, with logits at every position: what the
 * parity test compares with the trainer's forward (fp32), and the quality tests compare across quantizations.
 */
public final class ForwardPass implements AutoCloseable {
    private static final int ADAPTER_SLOT = 1;

    private final ModelConfig config;
    private final DecoderSession session;

    private ForwardPass(ModelConfig config, DecoderSession session) {
        this.config = config;
        this.session = session;
    }

    /** Compiles {@code modelDir} for sequences up to 512 tokens and adapters up to rank 64. */
    public static ForwardPass open(Path modelDir) throws IOException {
        return open(modelDir, 512, 64);
    }

    /** Compiles {@code modelDir} for sequences up to {@code maxSequenceLength} and adapters up to {@code maxRank}. */
    public static ForwardPass open(Path modelDir, int maxSequenceLength, int maxRank) throws IOException {
        return open(modelDir, maxSequenceLength, maxRank, Quantization.NONE, Runtime.getRuntime().availableProcessors());
    }

    /** As {@link #open(Path, int, int)}, with the base weights stored as {@code quantization} says. */
    public static ForwardPass open(Path modelDir, int maxSequenceLength, int maxRank, Quantization quantization,
                                   int threads) throws IOException {
        try (ModelDirectory model = ModelDirectory.open(modelDir)) {
            CompiledDecoder decoder = new DecoderGraphCompiler(CompileOptions.builder()
                    .optMaxSequenceLength(Math.min(maxSequenceLength, model.config().maxPositionEmbeddings()))
                    .optLora(LoraLayout.allLinear(2, maxRank))
                    .optQuantization(quantization)
                    .build()).compile(model);
            return new ForwardPass(model.config(), DecoderSession.open(decoder, 1, threads));
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime could not open the compiled graph of " + modelDir + ": "
                    + e.getMessage(), e);
        }
    }

    /** Logits {@code [position][vocab]} of {@code tokenIds}, with {@code adapterOrNull} applied to every row. */
    public synchronized float[][] logits(int[] tokenIds, PeftAdapter adapterOrNull) throws IOException {
        int slot = LoraLayout.BASE_SLOT;
        if (adapterOrNull != null) {
            adapterOrNull.validateAgainst(config, session.signature().lora().maxRank());
            LoraPools pools = session.loraPools();
            pools.write(ADAPTER_SLOT, pools.format().prepare("parity", adapterOrNull));
            slot = ADAPTER_SLOT;
        }
        try {
            return session.run(StepBatch.prefill(0, tokenIds, 0, slot, true))[0];
        } catch (OrtException e) {
            throw new IOException("forward pass failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IOException(e);
        }
    }
}
