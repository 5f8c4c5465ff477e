package dev.quiver.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.finetune.HyperparameterLimits;
import dev.quiver.finetune.runner.RunnerSpec;
import dev.quiver.http.ApiException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Requested hyperparameters of a job: each is {@code "auto"} (the trainer chooses from the dataset)
 * or a value, validated at job creation with the trainer's own {@link HyperparameterLimits}, so that a bad
 * value is a 400 naming the field instead of a job that fails when it starts. Stored as JSON with
 * {@code "auto"} spelled out, as the job view shows it.
 */
public final class Hyperparameters {
    public static final String AUTO = "auto";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper SNAKE_CASE =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private static final List<String> NAMES =
            List.of("n_epochs", "batch_size", "learning_rate", "lora_rank", "lora_alpha", "target_modules");

    private Hyperparameters() {
    }

    /** Validates a request's {@code hyperparameters} object (missing = auto); a bad value is a 400 naming it. */
    public static RunnerSpec.Hyperparameters validate(Map<String, Object> requested) {
        Map<String, Object> in = requested == null ? Map.of() : requested;
        for (String key : in.keySet()) {
            if (!NAMES.contains(key)) {
                throw ApiException.invalid("hyperparameters." + key, "unknown hyperparameter '" + key
                        + "'; supported: " + NAMES);
            }
        }
        Number epochs = number(in, HyperparameterLimits.N_EPOCHS);
        Number batch = number(in, HyperparameterLimits.BATCH_SIZE);
        Number rate = number(in, HyperparameterLimits.LEARNING_RATE);
        Number rank = number(in, HyperparameterLimits.LORA_RANK);
        Number alpha = number(in, HyperparameterLimits.LORA_ALPHA);
        Object targets = in.getOrDefault("target_modules", AUTO);
        return new RunnerSpec.Hyperparameters(epochs == null ? null : epochs.intValue(),
                batch == null ? null : batch.intValue(), rate == null ? null : rate.doubleValue(),
                rank == null ? null : rank.intValue(), alpha == null ? null : alpha.doubleValue(),
                AUTO.equals(targets) ? null : targets("hyperparameters.target_modules", targets));
    }

    /** The validated hyperparameters as stored with the job. */
    public static String store(RunnerSpec.Hyperparameters h) {
        ObjectNode out = JSON.createObjectNode();
        out.set("n_epochs", orAuto(h.nEpochs()));
        out.set("batch_size", orAuto(h.batchSize()));
        out.set("learning_rate", orAuto(h.learningRate()));
        out.set("lora_rank", orAuto(h.loraRank()));
        out.set("lora_alpha", orAuto(h.loraAlpha()));
        out.set("target_modules", orAuto(h.targetModules()));
        return out.toString();
    }

    /** A job's stored hyperparameters, typed for its runner's spec. */
    public static RunnerSpec.Hyperparameters read(String json) {
        try {
            Map<String, Object> stored = parse(json);
            stored.replaceAll((name, value) -> AUTO.equals(value) ? null : value);
            return SNAKE_CASE.convertValue(stored, RunnerSpec.Hyperparameters.class);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("stored hyperparameters do not fit the runner spec: " + json, e);
        }
    }

    /** The stored JSON as a map, e.g. for the job view. */
    public static Map<String, Object> parse(String json) {
        try {
            Map<String, Object> m = new LinkedHashMap<>();
            JsonNode node = JSON.readTree(json);
            node.fields().forEachRemaining(e -> m.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class)));
            return m;
        } catch (Exception e) {
            throw new IllegalStateException("stored hyperparameters are not JSON: " + json, e);
        }
    }

    private static Number number(Map<String, Object> in, HyperparameterLimits.Range range) {
        Object v = in.getOrDefault(range.name(), AUTO);
        if (AUTO.equals(v)) {
            return null;
        }
        String field = "hyperparameters." + range.name();
        range.problem(field, v).ifPresent(problem -> {
            throw ApiException.invalid(field, problem + "; or \"auto\" to let the trainer choose");
        });
        return (Number) v;
    }

    private static JsonNode orAuto(Object value) {
        return value == null ? JSON.getNodeFactory().textNode(AUTO) : JSON.valueToTree(value);
    }

    private static List<String> targets(String field, Object v) {
        if (LoraConfig.ALL_LINEAR.equals(v)) {
            return ModelConfig.LINEAR_MODULES;
        }
        if (!(v instanceof List<?> list) || list.isEmpty()) {
            throw ApiException.invalid(field, field + " must be \"auto\", \"all-linear\" or a non-empty list of "
                    + ModelConfig.LINEAR_MODULES);
        }
        for (Object m : list) {
            if (!ModelConfig.LINEAR_MODULES.contains(String.valueOf(m))) {
                throw ApiException.invalid(field, "unknown target module '" + m + "'; choose from "
                        + ModelConfig.LINEAR_MODULES);
            }
        }
        return list.stream().map(String::valueOf).toList();
    }
}
