package dev.quiver.finetune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;
import java.util.Set;

/**
 * Greedy generation without a KV cache: each new token re-runs the whole sequence. Slow but exact,
 * which is what checks of a trained adapter (and the CLI's sample output) need.
 */
public final class GreedyDecoder {
    private final CausalLm model;

    public GreedyDecoder(CausalLm model) {
        this.model = model;
    }

    /** The tokens generated after {@code prompt}, stopping after a stop token (included) or {@code maxNewTokens}. */
    public int[] generate(int[] prompt, LoraTensors lora, int maxNewTokens, Set<Integer> stopTokens) {
        int[] seq = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int len = prompt.length;
        while (len < seq.length) {
            int next;
            try (NDScope scope = new NDScope()) {
                NDArray logits = model.logits(Tokens.single(Arrays.copyOf(seq, len)), lora);
                next = (int) logits.get(new NDIndex(0, len - 1)).argMax().getLong();
            }
            seq[len++] = next;
            if (stopTokens.contains(next)) {
                break;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }
}
