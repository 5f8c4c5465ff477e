package dev.quiver.finetune;

import ai.djl.ndarray.NDManager;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.finetune.model.GreedyDecoder;
import dev.quiver.finetune.model.LoraTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Scores a model, with or without an adapter, on prompts whose expected answers are known. */
public final class AnswerScores {
    private static final int MAX_NEW_TOKENS = 8;

    private AnswerScores() {
    }

    /** One prompt and the answer expected for it. */
    public record Case(List<Map<String, Object>> messages, String answer) {
    }

    /** The fraction of cases whose greedy answer, up to the end-of-turn token, is exactly the expected one. */
    public static double exactMatch(CausalLm model, Path modelDir, Path adapterDirOrNull, List<Case> cases)
            throws IOException {
        ChatTemplate template = ChatTemplate.load(modelDir);
        try (Tokenizer tokenizer = Tokenizer.load(modelDir); NDManager manager = model.newSubManager()) {
            int endOfTurn = tokenizer.tokenId("<|im_end|>").orElseThrow();
            LoraTensors lora = adapterDirOrNull == null ? LoraTensors.none()
                    : LoraTensors.of(PeftAdapter.read(adapterDirOrNull), manager);
            GreedyDecoder decoder = new GreedyDecoder(model);
            int right = 0;
            for (Case c : cases) {
                int[] prompt = tokenizer.encode(template.render(c.messages(), null, true));
                String answer = tokenizer.decode(decoder.generate(prompt, lora, MAX_NEW_TOKENS, Set.of(endOfTurn)));
                if (answer.equals(c.answer() + "<|im_end|>")) {
                    right++;
                }
            }
            return (double) right / cases.size();
        }
    }

    /**
     * The fraction of cases where, of all the {@code answers}, the expected one is the most likely reply
     * (summed log-probability of its tokens and the end-of-turn token): accuracy when the model is made to
     * choose, which is chance for a model that knows nothing of the task, however it phrases its own replies.
     */
    public static double bestOf(CausalLm model, Path modelDir, Path adapterDirOrNull, List<String> answers,
                                List<Case> cases) throws IOException {
        ChatTemplate template = ChatTemplate.load(modelDir);
        PeftAdapter adapter = adapterDirOrNull == null ? null : PeftAdapter.read(adapterDirOrNull);
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            int right = 0;
            for (Case c : cases) {
                int[] prompt = tokenizer.encode(template.render(c.messages(), null, true));
                String best = null;
                double bestLogProb = Double.NEGATIVE_INFINITY;
                for (String answer : answers) {
                    double lp = logProb(model, adapter, prompt, tokenizer.encode(answer + "<|im_end|>"));
                    if (lp > bestLogProb) {
                        bestLogProb = lp;
                        best = answer;
                    }
                }
                if (c.answer().equals(best)) {
                    right++;
                }
            }
            return (double) right / cases.size();
        }
    }

    private static double logProb(CausalLm model, PeftAdapter adapter, int[] prompt, int[] reply) throws IOException {
        int[] seq = Arrays.copyOf(prompt, prompt.length + reply.length);
        System.arraycopy(reply, 0, seq, prompt.length, reply.length);
        float[][] logits = model.logits(seq, adapter);
        double sum = 0;
        for (int i = 0; i < reply.length; i++) {
            float[] row = logits[prompt.length + i - 1];
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            double z = 0;
            for (float v : row) {
                z += Math.exp(v - max);
            }
            sum += row[reply[i]] - max - Math.log(z);
        }
        return sum;
    }
}
