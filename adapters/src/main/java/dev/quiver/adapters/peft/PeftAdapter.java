package dev.quiver.adapters.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.quiver.adapters.blob.AtomicFiles;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsFile;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA adapter in PEFT's directory format: {@code adapter_config.json} plus
 * {@code adapter_model.safetensors} with keys like
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}.
 */
public final class PeftAdapter {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** The largest rank Quiver accepts unless a caller sets a lower limit. */
    public static final int MAX_RANK = 256;

    private static final String PREFIX = "base_model.model.";
    private static final Pattern KEY = Pattern.compile(
            "base_model\\.model\\.(model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.([a-z_]+))\\.lora_([AB])\\.weight");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final LoraConfig config;
    private final Map<String, LoraWeights> weights;

    /** {@code weights} maps module paths to their factors. */
    public PeftAdapter(LoraConfig config, Map<String, LoraWeights> weights) {
        this.config = config;
        this.weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
    }

    public LoraConfig config() {
        return config;
    }

    /** Module path to LoRA factors, in model order. */
    public Map<String, LoraWeights> weights() {
        return weights;
    }

    /** The largest rank among the adapted modules. */
    public int maxRank() {
        return weights.values().stream().mapToInt(LoraWeights::rank).max().orElse(0);
    }

    /** The safetensors key of a module's A or B factor. */
    public static String key(String modulePath, char factor) {
        return PREFIX + modulePath + ".lora_" + factor + ".weight";
    }

    /** Reads an adapter directory, refusing unsupported PEFT features and unknown tensors. */
    public static PeftAdapter read(Path dir) throws IOException {
        Path configFile = dir.resolve(LoraConfig.FILE);
        if (!Files.exists(configFile)) {
            throw new NoSuchFileException(configFile + " (a PEFT adapter directory needs adapter_config.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(configFile.toFile());
        } catch (IOException e) {
            throw new AdapterFormatException(configFile + ": not valid JSON: " + e.getMessage());
        }
        LoraConfig config = LoraConfig.parse(configFile, root);
        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(weightsFile)) {
            String hint = Files.exists(dir.resolve("adapter_model.bin"))
                    ? "; adapter_model.bin (pickle) is not read for safety: re-save with safe_serialization=True" : "";
            throw new NoSuchFileException(weightsFile + " is missing" + hint);
        }
        Map<String, float[]> a = new LinkedHashMap<>();
        Map<String, float[]> b = new LinkedHashMap<>();
        Map<String, long[]> aShape = new LinkedHashMap<>();
        Map<String, long[]> bShape = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weightsFile)) {
            for (String name : f.tensors().keySet()) {
                Matcher m = KEY.matcher(name);
                if (!m.matches()) {
                    throw new AdapterFormatException(weightsFile + ": tensor '" + name + "' is not a LoRA factor of a"
                            + " decoder linear layer (expected base_model.model.model.layers.N.<self_attn|mlp>."
                            + "<module>.lora_A|lora_B.weight); embedding, lm_head and DoRA weights are not supported");
                }
                Tensor t = f.tensor(name);
                if (t.shape().length != 2 || !t.dtype().isFloatingPoint()) {
                    throw new AdapterFormatException(weightsFile + ": tensor '" + name + "' must be a 2-D float"
                            + " matrix, got " + t.dtype() + Arrays.toString(t.shape()));
                }
                boolean isA = m.group(5).equals("A");
                (isA ? a : b).put(m.group(1), t.toFloats());
                (isA ? aShape : bShape).put(m.group(1), t.shape());
            }
        }
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (String module : new TreeSet<>(union(a.keySet(), b.keySet()))) {
            if (!a.containsKey(module) || !b.containsKey(module)) {
                throw new AdapterFormatException(weightsFile + ": module '" + module + "' has lora_"
                        + (a.containsKey(module) ? "A but no lora_B" : "B but no lora_A"));
            }
            long[] as = aShape.get(module);
            long[] bs = bShape.get(module);
            if (as[0] != bs[1]) {
                throw new AdapterFormatException(weightsFile + ": module '" + module + "' lora_A is "
                        + Arrays.toString(as) + " and lora_B " + Arrays.toString(bs)
                        + ": A's rows must equal B's columns (the rank)");
            }
            weights.put(module, new LoraWeights(module, (int) as[0], (int) as[1], (int) bs[0], a.get(module),
                    b.get(module)));
        }
        if (weights.isEmpty()) {
            throw new AdapterFormatException(weightsFile + ": holds no LoRA weights");
        }
        return new PeftAdapter(config, sortByModel(weights));
    }

    private static List<String> union(Iterable<String> x, Iterable<String> y) {
        List<String> all = new ArrayList<>();
        x.forEach(all::add);
        y.forEach(all::add);
        return all;
    }

    // layer index numerically, then module in model order, so iteration matches the forward pass
    private static Map<String, LoraWeights> sortByModel(Map<String, LoraWeights> weights) {
        List<String> keys = new ArrayList<>(weights.keySet());
        keys.sort((p, q) -> {
            Matcher mp = KEY.matcher(key(p, 'A'));
            Matcher mq = KEY.matcher(key(q, 'A'));
            mp.matches();
            mq.matches();
            int byLayer = Integer.compare(Integer.parseInt(mp.group(2)), Integer.parseInt(mq.group(2)));
            return byLayer != 0 ? byLayer : Integer.compare(ModelConfig.LINEAR_MODULES.indexOf(mp.group(4)),
                    ModelConfig.LINEAR_MODULES.indexOf(mq.group(4)));
        });
        Map<String, LoraWeights> sorted = new LinkedHashMap<>();
        keys.forEach(k -> sorted.put(k, weights.get(k)));
        return sorted;
    }

    /**
     * Checks that this adapter fits {@code base}: every module exists in the base, shapes match its
     * in/out widths, ranks agree with the config and stay within {@code maxRank}, and every module the
     * config targets has weights. All problems are reported at once.
     */
    public void validateAgainst(ModelConfig base, int maxRank) throws AdapterFormatException {
        List<String> problems = new ArrayList<>();
        for (LoraWeights w : weights.values()) {
            Matcher m = KEY.matcher(key(w.module(), 'A'));
            m.matches();
            int layer = Integer.parseInt(m.group(2));
            String name = m.group(4);
            if (!ModelConfig.LINEAR_MODULES.contains(name)
                    || !ModelConfig.modulePath(layer, name).equals(w.module())) {
                problems.add("'" + w.module() + "' is not a linear layer of " + base.family().architecture()
                        + " (LoRA targets: " + ModelConfig.LINEAR_MODULES + ")");
                continue;
            }
            if (layer >= base.numLayers()) {
                problems.add("'" + w.module() + "' is in layer " + layer + " but the base has " + base.numLayers()
                        + " layers");
                continue;
            }
            ModelConfig.LinearShape s = base.linear(name);
            if (w.in() != s.in()) {
                problems.add(key(w.module(), 'A') + " has shape [" + w.rank() + ", " + w.in() + "] but the base's "
                        + name + " takes " + s.in() + " inputs: expected [" + w.rank() + ", " + s.in() + "]");
            }
            if (w.out() != s.out()) {
                problems.add(key(w.module(), 'B') + " has shape [" + w.out() + ", " + w.rank() + "] but the base's "
                        + name + " has " + s.out() + " outputs: expected [" + s.out() + ", " + w.rank() + "]");
            }
            int expectedRank = config.rankFor(w.module());
            if (w.rank() != expectedRank) {
                problems.add("'" + w.module() + "' has rank " + w.rank() + " but adapter_config.json says r="
                        + expectedRank);
            }
            if (w.rank() > maxRank) {
                problems.add("'" + w.module() + "' has rank " + w.rank() + ", above this server's limit of "
                        + maxRank);
            }
            if (!config.targets(w.module(), layer)) {
                problems.add("'" + w.module() + "' has weights but is not in target_modules");
            }
        }
        for (int l = 0; l < base.numLayers(); l++) {
            for (String name : ModelConfig.LINEAR_MODULES) {
                String path = ModelConfig.modulePath(l, name);
                if (config.targets(path, l) && !weights.containsKey(path)) {
                    problems.add("target module '" + path + "' has no lora_A/lora_B weights");
                }
            }
        }
        if (config.targetModulesRegex() == null) {
            for (String t : config.targetModules()) {
                if (!ModelConfig.LINEAR_MODULES.contains(t.substring(t.lastIndexOf('.') + 1))) {
                    problems.add("target module '" + t + "' does not exist in " + base.family().architecture()
                            + " (LoRA targets: " + ModelConfig.LINEAR_MODULES + ")");
                }
            }
        }
        if (!problems.isEmpty()) {
            int shown = Math.min(problems.size(), 8);
            throw new AdapterFormatException("adapter does not fit base model " + base.family().architecture()
                    + ": " + String.join("; ", problems.subList(0, shown))
                    + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : ""));
        }
    }

    /** Writes the adapter as a new PEFT directory, atomically: {@code dir} appears complete or not at all. */
    public void write(Path dir, DType dtype) throws IOException {
        List<Tensor> tensors = new ArrayList<>();
        for (LoraWeights w : weights.values()) {
            tensors.add(Tensor.ofFloats(key(w.module(), 'A'), dtype, new long[] {w.rank(), w.in()}, w.a()));
            tensors.add(Tensor.ofFloats(key(w.module(), 'B'), dtype, new long[] {w.out(), w.rank()}, w.b()));
        }
        String configJson = JSON.writeValueAsString(config.toJson(JSON)) + "\n";
        AtomicFiles.writeDirectoryAtomically(dir, tmp -> {
            Files.writeString(tmp.resolve(LoraConfig.FILE), configJson);
            SafetensorsWriter.write(tmp.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        });
    }
}
