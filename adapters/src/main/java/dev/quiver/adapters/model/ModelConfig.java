package dev.quiver.adapters.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one description of a decoder model that the trainer, the graph compiler and the adapter
 * validator all read: dimensions from config.json plus the family switches.
 *
 * @param ropeScaling       null when RoPE is unscaled
 * @param bosTokenId        null when the model has none
 * @param torchDtype        the dtype config.json declares for the weights
 */
public record ModelConfig(
        ModelFamily family,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        DType torchDtype) {

    public static final String FILE = "config.json";
    /** The linear layers of one decoder block that LoRA can target, in model order. */
    public static final List<String> LINEAR_MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private static final List<String> MLP_MODULES = List.of("gate_proj", "up_proj", "down_proj");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads
                    + " is not a multiple of num_key_value_heads " + numKvHeads);
        }
    }

    /** Input and output width of a linear layer: weight shape is {@code [out, in]}. */
    public record LinearShape(int in, int out) {
    }

    /** Whether q/k/v carry a bias: always for Qwen2, by {@code attention_bias} otherwise. */
    public boolean qkvBias() {
        return family.qkvBias() || attentionBias;
    }

    public boolean qkNorm() {
        return family.qkNorm();
    }

    /** The in/out widths of {@code module} (one of {@link #LINEAR_MODULES}). */
    public LinearShape linear(String module) {
        return switch (module) {
            case "q_proj" -> new LinearShape(hiddenSize, numHeads * headDim);
            case "k_proj", "v_proj" -> new LinearShape(hiddenSize, numKvHeads * headDim);
            case "o_proj" -> new LinearShape(numHeads * headDim, hiddenSize);
            case "gate_proj", "up_proj" -> new LinearShape(hiddenSize, intermediateSize);
            case "down_proj" -> new LinearShape(intermediateSize, hiddenSize);
            default -> throw new IllegalArgumentException("unknown linear module '" + module + "', expected one of "
                    + LINEAR_MODULES);
        };
    }

    /** The HF module path of a linear layer, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public static String modulePath(int layer, String module) {
        String block = MLP_MODULES.contains(module) ? "mlp" : "self_attn";
        return "model.layers." + layer + "." + block + "." + module;
    }

    /** Every weight the checkpoint must hold, with its shape, in model order. */
    public Map<String, long[]> expectedWeights() {
        Map<String, long[]> w = new LinkedHashMap<>();
        w.put("model.embed_tokens.weight", new long[] {vocabSize, hiddenSize});
        for (int l = 0; l < numLayers; l++) {
            String p = "model.layers." + l + ".";
            w.put(p + "input_layernorm.weight", new long[] {hiddenSize});
            for (String m : LINEAR_MODULES) {
                LinearShape s = linear(m);
                w.put(modulePath(l, m) + ".weight", new long[] {s.out(), s.in()});
                if (qkvBias() && (m.equals("q_proj") || m.equals("k_proj") || m.equals("v_proj"))) {
                    w.put(modulePath(l, m) + ".bias", new long[] {s.out()});
                }
                if (m.equals("k_proj") && qkNorm()) {
                    w.put(p + "self_attn.q_norm.weight", new long[] {headDim});
                    w.put(p + "self_attn.k_norm.weight", new long[] {headDim});
                }
                if (m.equals("o_proj")) {
                    w.put(p + "post_attention_layernorm.weight", new long[] {hiddenSize});
                }
            }
        }
        w.put("model.norm.weight", new long[] {hiddenSize});
        if (!tieWordEmbeddings) {
            w.put("lm_head.weight", new long[] {vocabSize, hiddenSize});
        }
        return w;
    }

    /** Total parameter count of the expected weights. */
    public long parameterCount() {
        long n = 0;
        for (long[] shape : expectedWeights().values()) {
            long k = 1;
            for (long d : shape) {
                k *= d;
            }
            n += k;
        }
        return n;
    }

    /** RoPE inverse frequencies for one head ({@code headDim / 2} values), scaling applied. */
    public double[] ropeInverseFrequencies() {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        if (ropeScaling != null) {
            ropeScaling.apply(inv);
        }
        return inv;
    }

    /** Reads {@code config.json} from a model directory. */
    public static ModelConfig load(Path modelDir) throws IOException {
        Path file = modelDir.resolve(FILE);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file + " (a Hugging Face model directory needs config.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file, "not valid JSON: " + e.getMessage());
        }
        return parse(file, root);
    }

    /** Parses a config.json tree; {@code file} only names the source in errors. */
    public static ModelConfig parse(Path file, JsonNode root) throws ModelFormatException {
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "config must be a JSON object");
        }
        ModelFamily family = family(file, root);
        Fields f = new Fields(file, root, family);
        int hidden = f.requiredInt("hidden_size");
        int heads = f.requiredInt("num_attention_heads");
        int kvHeads = f.optionalInt("num_key_value_heads", heads);
        if (hidden <= 0 || heads <= 0 || kvHeads <= 0) {
            throw new ModelFormatException(file, "hidden_size, num_attention_heads and num_key_value_heads must be"
                    + " positive");
        }
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "num_attention_heads (" + heads
                    + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        int headDim = root.hasNonNull("head_dim") ? f.requiredInt("head_dim") : hidden / heads;
        if (headDim % 2 != 0) {
            throw new ModelFormatException(file, "head_dim " + headDim + " must be even for RoPE");
        }
        if (family == ModelFamily.LLAMA && root.path("attention_bias").asBoolean(false)) {
            throw new ModelFormatException(file, "attention_bias=true is not supported for llama models");
        }
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new ModelFormatException(file, "mlp_bias=true is not supported");
        }
        if (root.path("use_sliding_window").asBoolean(false)) {
            throw new ModelFormatException(file, "use_sliding_window=true is not supported; set it to false"
                    + " (full attention)");
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelFormatException(file, "hidden_act '" + act + "' is not supported; only silu (SwiGLU)");
        }
        DType dtype = DType.F32;
        if (root.hasNonNull("torch_dtype")) {
            try {
                dtype = DType.fromTorchName(root.get("torch_dtype").asText());
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(file, "torch_dtype: " + e.getMessage());
            }
        }
        return new ModelConfig(
                family,
                hidden,
                f.requiredInt("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                f.requiredInt("intermediate_size"),
                f.requiredInt("vocab_size"),
                f.requiredInt("max_position_embeddings"),
                f.requiredDouble("rms_norm_eps"),
                f.optionalDouble("rope_theta", 10000.0),
                ropeScaling(file, root.get("rope_scaling")),
                root.path("tie_word_embeddings").asBoolean(false),
                family != ModelFamily.QWEN2 && root.path("attention_bias").asBoolean(false),
                root.hasNonNull("bos_token_id") ? root.get("bos_token_id").asInt() : null,
                tokenIds(root.get("eos_token_id")),
                dtype);
    }

    private static ModelFamily family(Path file, JsonNode root) throws ModelFormatException {
        JsonNode archs = root.get("architectures");
        String arch = archs != null && archs.isArray() && archs.size() > 0 ? archs.get(0).asText() : null;
        if (arch != null) {
            return ModelFamily.byArchitecture(arch).orElseThrow(() -> new ModelFormatException(file,
                    "architecture '" + arch + "' is not supported; Quiver runs " + supported()));
        }
        String type = root.path("model_type").asText(null);
        if (type == null) {
            throw new ModelFormatException(file, "neither \"architectures\" nor \"model_type\" is set; expected"
                    + " one of " + supported());
        }
        return ModelFamily.byModelType(type).orElseThrow(() -> new ModelFormatException(file,
                "model_type '" + type + "' is not supported; Quiver runs " + supported()));
    }

    private static String supported() {
        List<String> names = new ArrayList<>();
        for (ModelFamily f : ModelFamily.values()) {
            names.add(f.architecture());
        }
        return String.join(", ", names);
    }

    private static RopeScaling ropeScaling(Path file, JsonNode node) throws ModelFormatException {
        if (node == null || node.isNull()) {
            return null;
        }
        String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText() : node.path("type").asText("");
        Fields f = new Fields(file, node, null);
        return switch (type) {
            case "default" -> null;
            case "linear" -> RopeScaling.linear(f.requiredDouble("factor"));
            case "llama3" -> RopeScaling.llama3(f.requiredDouble("factor"), f.requiredDouble("low_freq_factor"),
                    f.requiredDouble("high_freq_factor"), f.requiredInt("original_max_position_embeddings"));
            default -> throw new ModelFormatException(file, "rope_scaling type '" + type
                    + "' is not supported; expected linear or llama3 (or no rope_scaling)");
        };
    }

    /** A token id field that may be a number, a list of numbers or null. */
    static List<Integer> tokenIds(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        } else {
            ids.add(node.asInt());
        }
        return ids;
    }

    /** config.json as transformers writes it for this family. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(family.architecture());
        o.put("model_type", family.modelType());
        o.put("hidden_size", hiddenSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKvHeads);
        o.put("head_dim", headDim);
        o.put("intermediate_size", intermediateSize);
        o.put("vocab_size", vocabSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("attention_bias", qkvBias());
        o.put("hidden_act", "silu");
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else {
            ArrayNode eos = o.putArray("eos_token_id");
            eosTokenIds.forEach(eos::add);
        }
        o.put("torch_dtype", torchDtype.torchName());
        o.put("use_cache", true);
        return o;
    }

    /** Writes config.json into {@code modelDir}. */
    public void write(Path modelDir) throws IOException {
        Files.writeString(modelDir.resolve(FILE), JSON.writeValueAsString(toJson()) + "\n");
    }

    /** Typed access to config fields with errors that name the field and the family. */
    private record Fields(Path file, JsonNode root, ModelFamily family) {
        int requiredInt(String name) throws ModelFormatException {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                throw missing(name);
            }
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                throw new ModelFormatException(file, "field '" + name + "' must be an integer, got " + n);
            }
            return n.asInt();
        }

        int optionalInt(String name, int fallback) throws ModelFormatException {
            return root.hasNonNull(name) ? requiredInt(name) : fallback;
        }

        double requiredDouble(String name) throws ModelFormatException {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                throw missing(name);
            }
            if (!n.isNumber()) {
                throw new ModelFormatException(file, "field '" + name + "' must be a number, got " + n);
            }
            return n.asDouble();
        }

        double optionalDouble(String name, double fallback) throws ModelFormatException {
            return root.hasNonNull(name) ? requiredDouble(name) : fallback;
        }

        private ModelFormatException missing(String name) {
            return new ModelFormatException(file, "missing required field '" + name + "'"
                    + (family == null ? "" : " for " + family.architecture()));
        }
    }
}
