package dev.quiver.serving.http;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.Quantization;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Min;
import java.time.Duration;
import java.util.List;

/**
 * {@code quiver.serving.*}: engine sizes and admission limits.
 *
 * @param threads           ONNX Runtime intra-op threads; 0 for one per core
 * @param maxQueuedRequests requests admitted at once (running and waiting); beyond it clients get 429
 * @param adaptersDir       a directory of PEFT adapters served by directory name (standalone serving)
 * @param prefillChunkTokens the most prompt tokens prefilled in one step (the chunk when nothing is decoding)
 * @param prefillBudget     while sequences decode, each prefill chunk is sized to take about this long, so a
 *                          long prompt never stalls the running sequences for long
 * @param loraTargets       the linear modules that get a LoRA branch (default: all of them); adapters and jobs
 *                          that target others are refused
 * @param quantize          how the base model's linear weights are stored: {@code none} (fp32), {@code int8} or
 *                          {@code int4} (weight-only blocks; adapters stay fp32); default int8, which kept an
 *                          adapter's held-out exact match (QuantizedAdapterTest) at 2.9x the fp32 decode rate
 * @param graphCacheDir     where compiled (and quantized) graphs are kept between restarts; unset: no cache
 * @param executionProvider where ONNX Runtime runs the engine: {@code cpu}, or {@code cuda[:N]} with the GPU build
 */
@ConfigurationProperties("quiver.serving")
public record ServingConfig(
        @Bindable(defaultValue = "8") @Min(1) int maxBatch,
        @Bindable(defaultValue = "2048") @Min(16) int maxSequenceLength,
        @Bindable(defaultValue = "8") @Min(1) int loraSlots,
        @Bindable(defaultValue = "64") @Min(1) int maxLoraRank,
        @Bindable(defaultValue = "0") @Min(0) int threads,
        @Bindable(defaultValue = "32") @Min(1) int hostCacheSize,
        @Bindable(defaultValue = "64") @Min(1) int maxQueuedRequests,
        @Nullable String adaptersDir,
        @Bindable(defaultValue = "512") @Min(1) int prefillChunkTokens,
        @Nullable List<String> loraTargets,
        @Bindable(defaultValue = "300ms") Duration prefillBudget,
        @Bindable(defaultValue = "cpu") String executionProvider,
        @Bindable(defaultValue = "int8") String quantize,
        @Nullable String graphCacheDir) {

    public ServingConfig {
        loraTargets = loraTargets == null || loraTargets.isEmpty() ? ModelConfig.LINEAR_MODULES : List.copyOf(loraTargets);
        try {
            Quantization.parse(quantize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("quiver.serving.quantize (QUIVER_SERVING_QUANTIZE): " + e.getMessage());
        }
    }

    /** {@link #quantize()} parsed. */
    public Quantization quantization() {
        return Quantization.parse(quantize);
    }
}
