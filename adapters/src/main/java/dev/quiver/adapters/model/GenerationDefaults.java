package dev.quiver.adapters.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The sampling defaults a model's {@code generation_config.json} recommends, which apply to requests that
 * leave them unset, as vLLM's {@code --generation-config auto} applies them. {@code do_sample} is ignored
 * there too: a request that wants greedy decoding says {@code temperature: 0}. The end-of-sequence ids of
 * the same file are {@link ModelDirectory#eosTokenIds()}.
 *
 * @param temperature null when the file does not set it
 * @param topP        null when the file does not set it
 * @param topK        null when the file does not set it
 */
public record GenerationDefaults(Double temperature, Double topP, Integer topK) {
    public static final String FILE = "generation_config.json";
    public static final GenerationDefaults NONE = new GenerationDefaults(null, null, null);

    /** Reads {@code modelDir/generation_config.json}; {@link #NONE} when there is no such file. */
    public static GenerationDefaults load(Path modelDir) throws IOException {
        Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return NONE;
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "must be a JSON object of generation settings");
        }
        return new GenerationDefaults(number(file, root, "temperature"), number(file, root, "top_p"),
                integer(file, root, "top_k"));
    }

    public double temperatureOr(double fallback) {
        return temperature == null ? fallback : temperature;
    }

    public double topPOr(double fallback) {
        return topP == null ? fallback : topP;
    }

    public int topKOr(int fallback) {
        return topK == null ? fallback : topK;
    }

    private static Double number(Path file, JsonNode root, String field) throws ModelFormatException {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new ModelFormatException(file, field + " must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static Integer integer(Path file, JsonNode root, String field) throws ModelFormatException {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw new ModelFormatException(file, field + " must be a non-negative integer (0 disables it), got " + v);
        }
        return v.asInt();
    }
}
