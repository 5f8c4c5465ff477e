package dev.quiver.serving;

import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * What a serving tier holds, as it reports it ({@code GET /v1/serving/limits}).
 *
 * @param baseModel          the base model's name, as clients send it in {@code model}
 * @param maxLoraRank        the largest LoRA rank (after {@code rank_pattern}) an adapter may have
 * @param loraTargets        the linear modules that have a LoRA branch; an adapter may target only these
 * @param maxSequenceLength  tokens per sequence, prompt plus completion
 * @param loraSlots          adapters resident at once (one batch mixes at most this many)
 * @param maxBatch           sequences decoded together
 */
@Serdeable
public record ServingLimits(String baseModel, int maxLoraRank, List<String> loraTargets, int maxSequenceLength,
                            int loraSlots, int maxBatch) {
    public ServingLimits {
        loraTargets = List.copyOf(loraTargets);
    }
}
