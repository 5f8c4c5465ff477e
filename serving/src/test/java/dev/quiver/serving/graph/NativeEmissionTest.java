package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import ai.onnx.proto.OnnxMl;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.lora.LoraPools;
import dev.quiver.serving.runtime.DecoderSession;
import dev.quiver.serving.runtime.StepBatch;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The graph the emitter writes for Quiver's own ops on a quantized base (q/k/v read packed by attention, each
 * residual add and norm inside the linear that reads it, adapters inside the linears or after them) computes what
 * the ONNX ops' graph does (MatMulNBits, GroupQueryAttention, the norm and Split nodes, MultiLora's ONNX form), on
 * a Qwen3 (tied head, no biases) and a Qwen2 (q/k/v biases, its own head, random norm weights) with an adapter
 * applied to every row.
 */
class NativeEmissionTest {
    private static final int SLOT = 1;

    @TempDir
    Path tmp;

    @Test
    void quiversOpsComputeWhatTheOnnxOpsGraphDoes() throws Exception {
        assumeTrue(QuiverOps.library().isPresent(), "no Quiver ops library for " + QuiverOps.platform());
        for (Path model : new Path[] {TestModels.tiny(tmp, ModelFamily.QWEN3), TestModels.tinyQwen2(tmp)}) {
            ModelConfig config = ModelConfig.load(model);
            PeftAdapter adapter = TestModels.randomAdapter(config, 4, 8.0, 3, ModelConfig.LINEAR_MODULES);
            SplittableRandom random = new SplittableRandom(17);
            int[] prompt = new int[12];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = random.nextInt(config.vocabSize());
            }
            for (Quantization q : new Quantization[] {Quantization.INT8, Quantization.INT4}) {
                Run reference = run(model, q, QuantizedKernel.NBITS, AttentionKernel.GQA, LoraKernel.ONNX, adapter,
                        prompt);
                assertThat(reference.ops()).containsKeys("SkipSimplifiedLayerNormalization", "Split");
                for (LoraKernel lora : LoraKernel.values()) {
                    Run actual = run(model, q, QuantizedKernel.NATIVE, AttentionKernel.NATIVE, lora, adapter, prompt);
                    String what = config.family() + " " + q + " LoRA " + lora;
                    double scale = 0;
                    for (float v : reference.logits()) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    double diff = TestModels.maxAbsDiff(actual.logits(), reference.logits());
                    assertThat(diff).as(what + ": max |logit diff| against the ONNX ops' graph, max |logit| "
                            + scale).isLessThanOrEqualTo(0.03 * scale);
                    if (lora == LoraKernel.NATIVE) { // every norm after the first inside a linear
                        assertThat(actual.ops()).as(what + " ops").doesNotContainKey("SkipSimplifiedLayerNormalization")
                                .containsEntry("MatMulQ" + q.bits() + "Norm", 2 * config.numLayers());
                        // Qwen2's biases keep the Split; Qwen3's stacks are complete, read packed
                        assertThat(actual.ops().containsKey("Split")).as(what + " Split")
                                .isEqualTo(config.qkvBias());
                    } else { // MultiLora nodes read the normalised inputs: the norms stay nodes, but the head's
                        assertThat(actual.ops()).as(what + " ops")
                                .containsEntry("SkipSimplifiedLayerNormalization", 2 * config.numLayers() - 1)
                                .containsEntry("MatMulQ" + q.bits() + "Norm", 1);
                    }
                }
            }
        }
    }

    /** The last position's logits and the graph's op counts. */
    private record Run(float[] logits, Map<String, Integer> ops) {
    }

    private static Run run(Path modelDir, Quantization q, QuantizedKernel quantized, AttentionKernel attention,
                           LoraKernel lora, PeftAdapter adapter, int[] prompt) throws Exception {
        try (ModelDirectory model = ModelDirectory.open(modelDir)) {
            CompiledDecoder decoder = new DecoderGraphCompiler(CompileOptions.builder().optMaxSequenceLength(32)
                    .optLora(LoraLayout.allLinear(2, 4)).optQuantization(q).optQuantizedKernel(quantized)
                    .optAttentionKernel(attention).optLoraKernel(lora).build()).compile(model);
            Map<String, Integer> ops = new TreeMap<>();
            for (OnnxMl.NodeProto node : OnnxMl.ModelProto.parseFrom(decoder.modelBytes()).getGraph().getNodeList()) {
                ops.merge(node.getOpType(), 1, Integer::sum);
            }
            try (DecoderSession session = DecoderSession.open(decoder, 1, 2)) {
                LoraPools pools = session.loraPools();
                pools.write(SLOT, pools.format().prepare("adapter", adapter));
                float[][] logits = session.run(StepBatch.prefill(0, prompt, 0, SLOT, true))[0];
                return new Run(logits[logits.length - 1], ops);
            }
        }
    }
}
