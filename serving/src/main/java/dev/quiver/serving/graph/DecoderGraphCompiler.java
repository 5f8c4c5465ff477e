package dev.quiver.serving.graph;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import java.io.IOException;

/**
 * Compiles a Hugging Face decoder directory (Llama, Qwen2, Qwen3) into an ONNX graph for ONNX Runtime's
 * CPU build, with a multi-LoRA branch on every targeted linear layer. See {@link DecoderSignature} for
 * the graph's inputs and outputs.
 */
public final class DecoderGraphCompiler {
    private final CompileOptions options;

    public DecoderGraphCompiler(CompileOptions options) {
        this.options = options;
    }

    public CompiledDecoder compile(ModelDirectory model) throws IOException {
        ModelConfig config = model.config();
        DecoderSignature signature = signature(model);
        GraphBuilder graph = new GraphBuilder(config.family().modelType() + "-decoder");
        new DecoderEmitter(graph, signature, new WeightLoader(model.weights()), options.quantization(),
                options.loraKernel(), options.quantizedKernel(), options.attentionKernel()).emit();
        GraphBuilder.Built built = graph.build("quiver");
        return new CompiledDecoder(signature, built.modelBytes(), built.externalData());
    }

    /** The inputs and outputs the compiled graph of {@code model} has (after checking it can be compiled). */
    public DecoderSignature signature(ModelDirectory model) {
        ModelConfig config = model.config();
        check(config, model);
        return new DecoderSignature(config, options.maxSequenceLength(), options.lora(), options.loraPrecision(),
                options.kvPrecision());
    }

    private void check(ModelConfig config, ModelDirectory model) {
        // GroupQueryAttention's fused rotary needs head_dim % 16 == 0 on CPU (cos cache width a multiple of 8)
        if (config.headDim() % 16 != 0) {
            throw new IllegalArgumentException(model.path() + ": head_dim " + config.headDim()
                    + " is not a multiple of 16, which ONNX Runtime's GroupQueryAttention needs for rotary embedding");
        }
        if (options.maxSequenceLength() > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxSequenceLength " + options.maxSequenceLength() + " exceeds "
                    + model.path() + "'s max_position_embeddings " + config.maxPositionEmbeddings()
                    + "; compile with a smaller maxSequenceLength");
        }
    }
}
