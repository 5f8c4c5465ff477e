package dev.quiver.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.http.ApiException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Requested hyperparameters of a job: each is {@code "auto"} (the trainer chooses from the dataset)
 * or a value, validated at job creation so that a bad value is a 400 naming the field.
 */
public final class Hyperparameters {
    public static final String AUTO = "auto";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> NAMES =
            List.of("n_epochs", "batch_size", "learning_rate", "lora_rank", "lora_alpha", "target_modules");

    private Hyperparameters() {
    }

    /** Validates a request's {@code hyperparameters} object and returns it as canonical JSON (missing = auto). */
    public static String validate(Map<String, Object> requested) {
        Map<String, Object> in = requested == null ? Map.of() : requested;
        for (String key : in.keySet()) {
            if (!NAMES.contains(key)) {
                throw ApiException.invalid("hyperparameters." + key, "unknown hyperparameter '" + key
                        + "'; supported: " + NAMES);
            }
        }
        ObjectNode out = JSON.createObjectNode();
        for (String name : NAMES) {
            Object v = in.getOrDefault(name, AUTO);
            String field = "hyperparameters." + name;
            if (AUTO.equals(v)) {
                out.put(name, AUTO);
                continue;
            }
            switch (name) {
                case "n_epochs" -> out.put(name, integer(field, v, 1, 100));
                case "batch_size" -> out.put(name, integer(field, v, 1, 512));
                case "lora_rank" -> out.put(name, integer(field, v, 1, 256));
                case "learning_rate" -> out.put(name, number(field, v, 1e-7, 1.0));
                case "lora_alpha" -> out.put(name, number(field, v, 1e-3, 10_000));
                case "target_modules" -> out.set(name, JSON.valueToTree(targets(field, v)));
                default -> throw new IllegalStateException(name);
            }
        }
        return out.toString();
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

    private static int integer(String field, Object v, int min, int max) {
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw ApiException.invalid(field, field + " must be an integer or \"auto\", got " + v);
        }
        if (n.intValue() < min || n.intValue() > max) {
            throw ApiException.invalid(field, field + " must be between " + min + " and " + max + ", got " + v);
        }
        return n.intValue();
    }

    private static double number(String field, Object v, double min, double max) {
        if (!(v instanceof Number n)) {
            throw ApiException.invalid(field, field + " must be a number or \"auto\", got " + v);
        }
        if (n.doubleValue() < min || n.doubleValue() > max) {
            throw ApiException.invalid(field, field + " must be between " + min + " and " + max + ", got " + v);
        }
        return n.doubleValue();
    }

    private static List<String> targets(String field, Object v) {
        if ("all-linear".equals(v)) {
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
