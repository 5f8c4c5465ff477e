package dev.quiver.adapters.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.model.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The LoRA settings of a PEFT {@code adapter_config.json} that Quiver honours. Settings Quiver cannot
 * honour (DoRA, {@code modules_to_save}, biases, fan-in-fan-out) are refused when reading.
 *
 * @param targetModules      module names (suffix match, as PEFT), or empty when {@code targetModulesRegex} is set
 * @param targetModulesRegex a PEFT regex target (full match on the module path), or null
 * @param layersToTransform  the only layers adapted, or null for all
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        boolean useRslora,
        List<String> targetModules,
        String targetModulesRegex,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        double loraDropout,
        List<Integer> layersToTransform,
        String baseModelNameOrPath) {

    public static final String FILE = "adapter_config.json";
    public static final String ALL_LINEAR = "all-linear";

    public LoraConfig {
        targetModules = List.copyOf(targetModules);
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        if (r <= 0) {
            throw new IllegalArgumentException("r must be positive, got " + r);
        }
    }

    /** A plain config: rank, alpha and module names, as the trainer writes. */
    public static LoraConfig of(int r, double alpha, boolean useRslora, List<String> targetModules,
                                double dropout, String baseModel) {
        return new LoraConfig(r, alpha, useRslora, targetModules, null, Map.of(), Map.of(), dropout, null,
                baseModel);
    }

    /** Whether the module at {@code modulePath} (e.g. {@code model.layers.0.self_attn.q_proj}) is adapted. */
    public boolean targets(String modulePath, int layer) {
        if (layersToTransform != null && !layersToTransform.contains(layer)) {
            return false;
        }
        if (targetModulesRegex != null) {
            return Pattern.compile(targetModulesRegex).matcher(modulePath).matches();
        }
        for (String t : targetModules) {
            if (modulePath.equals(t) || modulePath.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    /** The rank of one module, after {@code rank_pattern}. */
    public int rankFor(String modulePath) {
        String key = patternKey(rankPattern.keySet(), modulePath);
        return key == null ? r : rankPattern.get(key);
    }

    /** The scale {@code alpha / r} (or {@code alpha / sqrt(r)} with rsLoRA) of one module. */
    public double scaleFor(String modulePath) {
        String key = patternKey(alphaPattern.keySet(), modulePath);
        double alpha = key == null ? loraAlpha : alphaPattern.get(key);
        int rank = rankFor(modulePath);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    // PEFT's get_pattern_key: the first pattern that matches a dotted suffix of the module path
    private static String patternKey(Iterable<String> keys, String modulePath) {
        for (String key : keys) {
            if (Pattern.compile("(.*\\.)?(" + key + ")$").matcher(modulePath).matches()) {
                return key;
            }
        }
        return null;
    }

    /** Parses adapter_config.json, refusing features Quiver would otherwise silently ignore. */
    static LoraConfig parse(Path file, JsonNode root) throws AdapterFormatException {
        String where = file + ": ";
        if (root == null || !root.isObject()) {
            throw new AdapterFormatException(where + "must be a JSON object");
        }
        String peftType = root.path("peft_type").asText("LORA");
        if (!peftType.equals("LORA")) {
            throw new AdapterFormatException(where + "peft_type '" + peftType + "' is not supported; only LORA");
        }
        String taskType = root.path("task_type").asText("CAUSAL_LM");
        if (!taskType.equals("CAUSAL_LM")) {
            throw new AdapterFormatException(where + "task_type '" + taskType + "' is not supported; only CAUSAL_LM");
        }
        if (root.path("use_dora").asBoolean(false)) {
            throw new AdapterFormatException(where + "use_dora=true (DoRA) is not supported; train a plain LoRA");
        }
        JsonNode toSave = root.get("modules_to_save");
        if (toSave != null && !toSave.isNull() && !(toSave.isArray() && toSave.isEmpty())) {
            throw new AdapterFormatException(where + "modules_to_save " + toSave + " is not supported: Quiver"
                    + " serves one shared base model, so an adapter may only add LoRA weights");
        }
        String bias = root.path("bias").asText("none");
        if (!bias.equals("none")) {
            throw new AdapterFormatException(where + "bias '" + bias + "' is not supported; only \"none\"");
        }
        if (root.path("lora_bias").asBoolean(false)) {
            throw new AdapterFormatException(where + "lora_bias=true is not supported");
        }
        if (root.path("fan_in_fan_out").asBoolean(false)) {
            throw new AdapterFormatException(where + "fan_in_fan_out=true is for GPT-2 style Conv1D layers and is"
                    + " not supported");
        }
        if (!root.path("r").isIntegralNumber() || root.get("r").asInt() <= 0) {
            throw new AdapterFormatException(where + "'r' must be a positive integer, got " + root.get("r"));
        }
        if (root.has("lora_alpha") && !root.get("lora_alpha").isNumber()) {
            throw new AdapterFormatException(where + "'lora_alpha' must be a number, got " + root.get("lora_alpha"));
        }
        JsonNode targets = root.get("target_modules");
        List<String> modules = new ArrayList<>();
        String regex = null;
        if (targets == null || targets.isNull()) {
            throw new AdapterFormatException(where + "'target_modules' is missing");
        } else if (targets.isTextual()) {
            if (targets.asText().equals(ALL_LINEAR)) {
                modules.addAll(ModelConfig.LINEAR_MODULES);
            } else {
                regex = targets.asText();
            }
        } else if (targets.isArray()) {
            targets.forEach(t -> modules.add(t.asText()));
        } else {
            throw new AdapterFormatException(where + "'target_modules' must be a list or a string");
        }
        List<Integer> layers = null;
        JsonNode ltt = root.get("layers_to_transform");
        if (ltt != null && !ltt.isNull()) {
            layers = new ArrayList<>();
            if (ltt.isArray()) {
                for (JsonNode n : ltt) {
                    layers.add(n.asInt());
                }
            } else {
                layers.add(ltt.asInt());
            }
        }
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        root.path("rank_pattern").fields().forEachRemaining(e -> rankPattern.put(e.getKey(), e.getValue().asInt()));
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        root.path("alpha_pattern").fields().forEachRemaining(e -> alphaPattern.put(e.getKey(),
                e.getValue().asDouble()));
        int r = root.get("r").asInt();
        return new LoraConfig(r, root.path("lora_alpha").asDouble(8), root.path("use_rslora").asBoolean(false),
                modules, regex, rankPattern, alphaPattern, root.path("lora_dropout").asDouble(0),
                layers, root.path("base_model_name_or_path").asText(null));
    }

    /** adapter_config.json as PEFT writes it. */
    ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        ObjectNode ap = o.putObject("alpha_pattern");
        alphaPattern.forEach(ap::put);
        o.putNull("auto_mapping");
        o.put("base_model_name_or_path", baseModelNameOrPath);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("init_lora_weights", true);
        if (layersToTransform == null) {
            o.putNull("layers_to_transform");
        } else {
            layersToTransform.forEach(o.putArray("layers_to_transform")::add);
        }
        o.putNull("layers_pattern");
        o.put("lora_alpha", loraAlpha);
        o.put("lora_dropout", loraDropout);
        o.putNull("modules_to_save");
        o.put("peft_type", "LORA");
        o.put("r", r);
        ObjectNode rp = o.putObject("rank_pattern");
        rankPattern.forEach(rp::put);
        o.putNull("revision");
        if (targetModulesRegex != null) {
            o.put("target_modules", targetModulesRegex);
        } else {
            targetModules.forEach(o.putArray("target_modules")::add);
        }
        o.put("task_type", "CAUSAL_LM");
        o.put("use_dora", false);
        o.put("use_rslora", useRslora);
        return o;
    }
}
