package dev.quiver.adapters.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.safetensors.Checkpoint;
import dev.quiver.adapters.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face model directory opened for use: its config, and its weights checked against what
 * the config says the architecture needs (every tensor present, right shape, floating-point dtype).
 */
public final class ModelDirectory implements AutoCloseable {
    private final Path dir;
    private final ModelConfig config;
    private final Checkpoint weights;

    private ModelDirectory(Path dir, ModelConfig config, Checkpoint weights) {
        this.dir = dir;
        this.config = config;
        this.weights = weights;
    }

    /** Opens {@code dir}; a missing or mis-shaped tensor is an error naming it. */
    public static ModelDirectory open(Path dir) throws IOException {
        ModelConfig config = ModelConfig.load(dir);
        Checkpoint weights = Checkpoint.open(dir);
        try {
            check(dir, config, weights);
        } catch (IOException | RuntimeException e) {
            weights.close();
            throw e;
        }
        return new ModelDirectory(dir, config, weights);
    }

    private static void check(Path dir, ModelConfig config, Checkpoint weights) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> e : config.expectedWeights().entrySet()) {
            if (!weights.contains(e.getKey())) {
                problems.add("missing tensor '" + e.getKey() + "' " + Arrays.toString(e.getValue()));
                continue;
            }
            TensorInfo info = weights.info(e.getKey());
            if (!Arrays.equals(info.shape(), e.getValue())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(info.shape())
                        + ", config.json implies " + Arrays.toString(e.getValue()));
            } else if (!info.dtype().isFloatingPoint()) {
                problems.add("tensor '" + e.getKey() + "' is " + info.dtype() + ", expected F32, F16 or BF16");
            }
        }
        if (!problems.isEmpty()) {
            int shown = Math.min(problems.size(), 5);
            throw new ModelFormatException(dir, "weights do not match config.json ("
                    + config.family().architecture() + "): " + String.join("; ", problems.subList(0, shown))
                    + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : ""));
        }
    }

    public Path path() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    /** The weights: memory-mapped per tensor ({@code tensor}) or read without mapping ({@code floatReader}). */
    public Checkpoint weights() {
        return weights;
    }

    /**
     * Token ids that end generation: {@code generation_config.json}'s {@code eos_token_id} when present
     * (chat models list their end-of-turn token there), else config.json's.
     */
    public List<Integer> eosTokenIds() throws IOException {
        Path gen = dir.resolve("generation_config.json");
        if (Files.exists(gen)) {
            List<Integer> ids = ModelConfig.tokenIds(new ObjectMapper().readTree(gen.toFile()).get("eos_token_id"));
            if (!ids.isEmpty()) {
                return ids;
            }
        }
        return config.eosTokenIds();
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }
}
