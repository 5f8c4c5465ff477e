package dev.quiver.finetune.bench;

import dev.quiver.adapters.model.ModelConfig;
import java.util.List;

/**
 * Floating-point operations of one LoRA training step as the trainer executes it, counting a multiply-add
 * as two. With T tokens in {@code rows} rows of S tokens, T' of them targets:
 * <ul>
 *   <li>frozen linear layers (P weights): forward 2PT, backward 2PT for the input gradient only, as frozen
 *       weights get no gradient;</li>
 *   <li>LoRA factors (P_lora = sum of r(in + out)): forward 2 P_lora T, backward 4 P_lora T (input and
 *       weight gradients);</li>
 *   <li>attention scores and context, computed over the full S x S square (the causal mask is added, not
 *       skipped): forward 4 S^2 H_q per layer and row, backward twice that, where H_q = heads x head_dim;</li>
 *   <li>LM head (V x H), run on target positions only: forward 2VHT', backward 2VHT'.</li>
 * </ul>
 * Norms, RoPE, softmax, activations, dropout and the optimizer are left out: they are memory-bound and small.
 *
 * @param linearParams frozen weights of the decoder's linear layers (P)
 * @param loraParams   trainable LoRA parameters (P_lora)
 */
public record TrainingFlops(long linearParams, long loraParams, int layers, int queryWidth, long headParams) {
    /** The formula, as the benchmark states it next to its figures. */
    public static final String FORMULA = "4*P*T + 6*P_lora*T + 12*layers*rows*S^2*H_q + 4*V*H*T_target"
            + " (frozen base: forward 2PT + input gradient 2PT, no weight gradient; LoRA: forward 2, input gradient"
            + " 2, weight gradient 2; attention over the full SxS square; LM head on target tokens only)";

    /** The counts for {@code model} with rank-{@code rank} LoRA on {@code targetModules} of every layer. */
    public static TrainingFlops of(ModelConfig model, int rank, List<String> targetModules) {
        long linear = 0;
        long lora = 0;
        for (String m : ModelConfig.LINEAR_MODULES) {
            ModelConfig.LinearShape s = model.linear(m);
            linear += (long) s.in() * s.out();
            if (targetModules.contains(m)) {
                lora += (long) rank * (s.in() + s.out());
            }
        }
        return new TrainingFlops(linear * model.numLayers(), lora * model.numLayers(), model.numLayers(),
                model.numHeads() * model.headDim(), (long) model.vocabSize() * model.hiddenSize());
    }

    /** One step over {@code rows} rows of {@code seqLen} tokens of which {@code targets} are learned. */
    public double perStep(int rows, int seqLen, long targets) {
        double tokens = (double) rows * seqLen;
        return 4.0 * linearParams * tokens
                + 6.0 * loraParams * tokens
                + 12.0 * layers * rows * (double) seqLen * seqLen * queryWidth
                + 4.0 * headParams * targets;
    }
}
