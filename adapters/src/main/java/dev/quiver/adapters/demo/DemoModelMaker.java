package dev.quiver.adapters.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.blob.AtomicFiles;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.model.RopeScaling;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.tokenizer.BpeTokenizerBuilder;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a complete Hugging Face model directory with seeded random weights and a BPE tokenizer the
 * code trains itself, because no pretrained model can be downloaded on Quiver's build machines.
 * The output is loaded by the same code that loads a downloaded Qwen3 or Llama directory.
 */
public final class DemoModelMaker {
    /** Rough target for the largest logit a fine-tune can reach with unit-RMS hidden states (see {@link #embeddingStd}). */
    private static final double LOGIT_REACH = 16.0;
    private static final int CHUNK = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private DemoModelMaker() {
    }

    /** What to generate. */
    public record Spec(ModelFamily family, DemoSize size, long seed, DType dtype) {
        public Spec {
            if (family == ModelFamily.QWEN2) {
                throw new IllegalArgumentException("demo models are generated as qwen3 or llama");
            }
            if (!dtype.isFloatingPoint()) {
                throw new IllegalArgumentException("dtype must be F32, F16 or BF16");
            }
        }
    }

    /** Generates the model directory {@code out}, which must not exist yet; it appears complete or not at all. */
    public static ModelConfig write(Path out, Spec spec) throws IOException {
        String tokenizerJson = BpeTokenizerBuilder.build(spec.size().tokenizerVocab());
        Map<String, Integer> special = addedTokenIds(tokenizerJson);
        int endOfText = special.get("<|endoftext|>");
        int endOfTurn = special.get("<|im_end|>");
        ModelConfig config = config(spec, maxId(special) + 1, endOfText, endOfTurn);
        AtomicFiles.writeDirectoryAtomically(out, dir -> {
            config.write(dir);
            Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
            Files.writeString(dir.resolve("tokenizer_config.json"),
                    JSON.writeValueAsString(tokenizerConfig(special, config)) + "\n");
            Files.writeString(dir.resolve("generation_config.json"),
                    JSON.writeValueAsString(generationConfig(endOfText, endOfTurn)) + "\n");
            writeWeights(dir.resolve("model.safetensors"), config, spec);
        });
        return config;
    }

    /** The config of a demo model whose tokenizer has {@code tokenizerSize} tokens. */
    static ModelConfig config(Spec spec, int tokenizerSize, int endOfText, int endOfTurn) {
        DemoSize s = spec.size();
        boolean qwen = spec.family() == ModelFamily.QWEN3;
        int vocab = s == DemoSize.QWEN3_0_6B ? s.vocab : tokenizerSize;
        RopeScaling rope = qwen ? null : RopeScaling.llama3(8.0, 1.0, 4.0, 8192);
        return new ModelConfig(spec.family(), s.hidden, s.layers, s.heads, s.kvHeads, s.headDim, s.intermediate,
                vocab, s.maxPositions, 1e-6, qwen ? 1_000_000.0 : 500_000.0, rope,
                qwen, false, endOfText, List.of(endOfTurn), spec.dtype());
    }

    /**
     * Embedding (and lm_head) init scale. With tied embeddings and RMS-normalised hidden states of norm
     * sqrt(d), the largest reachable logit is about {@code std * d}; at the usual 0.02 a small model
     * tops out near 1 and can never predict confidently, so small models get proportionally larger rows.
     */
    static double embeddingStd(int hidden) {
        return Math.max(0.02, Math.min(1.0, LOGIT_REACH / hidden));
    }

    private static void writeWeights(Path file, ModelConfig config, Spec spec) throws IOException {
        Map<String, long[]> shapes = config.expectedWeights();
        List<SafetensorsWriter.Spec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new SafetensorsWriter.Spec(name, spec.dtype(), shape)));
        try (SafetensorsWriter w = SafetensorsWriter.create(file, specs, Map.of("format", "pt",
                "quiver.generated", "seed=" + spec.seed()))) {
            float[] buf = new float[CHUNK];
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue();
                long n = 1;
                for (long d : shape) {
                    n *= d;
                }
                // a generator per tensor, so each tensor depends on the seed and its name only
                SplittableRandom rnd = new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + name.hashCode());
                double std = initStd(name, shape, config);
                for (long done = 0; done < n; done += CHUNK) {
                    int count = (int) Math.min(CHUNK, n - done);
                    for (int i = 0; i < count; i++) {
                        buf[i] = std == 0 ? 1.0f : (float) (rnd.nextGaussian() * std);
                    }
                    w.writeFloats(name, buf, 0, count);
                }
            }
        }
    }

    /** Standard deviation of a weight's init; 0 means "all ones" (norm weights). */
    private static double initStd(String name, long[] shape, ModelConfig config) {
        if (name.endsWith("norm.weight")) {
            return 0;
        }
        if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
            return embeddingStd(config.hiddenSize());
        }
        if (name.endsWith(".bias")) {
            return 0.02;
        }
        double std = 1.0 / Math.sqrt(shape[1]);
        if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
            std /= Math.sqrt(2.0 * config.numLayers()); // residual branches add up over depth
        }
        return std;
    }

    private static Map<String, Integer> addedTokenIds(String tokenizerJson) throws IOException {
        Map<String, Integer> ids = new HashMap<>();
        for (JsonNode t : JSON.readTree(tokenizerJson).path("added_tokens")) {
            ids.put(t.get("content").asText(), t.get("id").asInt());
        }
        for (String required : List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>")) {
            if (!ids.containsKey(required)) {
                throw new IllegalStateException("generated tokenizer lacks special token " + required);
            }
        }
        return ids;
    }

    private static int maxId(Map<String, Integer> ids) {
        return ids.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
    }

    private static ObjectNode tokenizerConfig(Map<String, Integer> special, ModelConfig config) {
        ObjectNode o = JSON.createObjectNode();
        o.put("add_bos_token", false);
        o.put("add_prefix_space", false);
        ObjectNode decoder = o.putObject("added_tokens_decoder");
        special.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> {
            ObjectNode t = decoder.putObject(Integer.toString(e.getValue()));
            t.put("content", e.getKey());
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", e.getKey().startsWith("<|"));
        });
        o.putNull("bos_token");
        o.put("chat_template", ChatTemplate.CHATML);
        o.put("clean_up_tokenization_spaces", false);
        o.put("eos_token", "<|im_end|>");
        o.put("errors", "replace");
        o.put("model_max_length", config.maxPositionEmbeddings());
        o.put("pad_token", "<|endoftext|>");
        o.put("split_special_tokens", false);
        o.put("tokenizer_class", "Qwen2Tokenizer");
        o.putNull("unk_token");
        return o;
    }

    private static ObjectNode generationConfig(int endOfText, int endOfTurn) {
        ObjectNode o = JSON.createObjectNode();
        o.put("bos_token_id", endOfText);
        o.putArray("eos_token_id").add(endOfTurn).add(endOfText);
        o.put("pad_token_id", endOfText);
        o.put("do_sample", false);
        return o;
    }
}
