package dev.quiver.serving.testing;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.serving.lora.LoraPools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

/** Generated tiny models and random adapters for the serving tests. */
public final class TestModels {
    private TestModels() {
    }

    /** Writes a tiny model of {@code family} under {@code parent} and returns its directory. */
    public static Path tiny(Path parent, ModelFamily family) throws IOException {
        Path dir = parent.resolve(family.modelType() + "-tiny");
        DemoModelMaker.write(dir, new DemoModelMaker.Spec(family, DemoSize.TINY, 7, DType.F32));
        return dir;
    }

    /**
     * A tiny Qwen2 directory (q/k/v bias, separate lm_head, BF16 weights), which the demo maker does not
     * generate: random weights written straight from the config's expected tensors.
     */
    public static Path tinyQwen2(Path parent) throws IOException {
        Path dir = parent.resolve("qwen2-tiny");
        java.nio.file.Files.createDirectories(dir);
        ModelConfig config = new ModelConfig(ModelFamily.QWEN2, 64, 2, 4, 2, 16, 128, 1024, 512, 1e-6, 10000.0,
                null, false, false, null, List.of(1), DType.BF16);
        config.write(dir);
        writeRandomWeights(dir, config, DType.BF16, 11);
        return dir;
    }

    /**
     * A tiny Qwen3 directory around the real Qwen3 tokenizer and chat template (test resources
     * {@code qwen3-tokenizer/}) and Qwen3's published generation_config.json. The embedding has Qwen3's 151,936
     * rows, so the width is kept at 32 to keep it a few MB; the weights are random.
     */
    public static Path qwen3WithRealTokenizer(Path parent) throws IOException {
        Path dir = java.nio.file.Files.createDirectories(parent.resolve("qwen3-real-tokenizer"));
        try (InputStream in = new GZIPInputStream(resource("tokenizer.json.gz"))) {
            java.nio.file.Files.copy(in, dir.resolve("tokenizer.json"));
        }
        try (InputStream in = resource("tokenizer_config.json")) {
            java.nio.file.Files.copy(in, dir.resolve("tokenizer_config.json"));
        }
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
                 "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}
                """);
        ModelConfig config = new ModelConfig(ModelFamily.QWEN3, 32, 1, 2, 1, 16, 64, 151936, 4096, 1e-6, 1_000_000.0,
                null, true, false, 151643, List.of(151645), DType.BF16);
        config.write(dir);
        writeRandomWeights(dir, config, DType.BF16, 13);
        return dir;
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = TestModels.class.getResourceAsStream("/qwen3-tokenizer/" + name);
        if (in == null) {
            throw new IOException("test resource qwen3-tokenizer/" + name + " is missing");
        }
        return in;
    }

    /** Fills every tensor {@code config} expects with seeded random values (norm weights near 1). */
    private static void writeRandomWeights(Path dir, ModelConfig config, DType dtype, long seed) throws IOException {
        Map<String, long[]> shapes = config.expectedWeights();
        List<SafetensorsWriter.Spec> specs = new java.util.ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new SafetensorsWriter.Spec(name, dtype, shape)));
        SplittableRandom rnd = new SplittableRandom(seed);
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), specs, Map.of())) {
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long[] shape = e.getValue();
                float[] values = new float[(int) (shape.length == 1 ? shape[0] : shape[0] * shape[1])];
                boolean norm = e.getKey().endsWith("norm.weight");
                double std = e.getKey().contains("embed") || e.getKey().startsWith("lm_head") ? 0.25
                        : shape.length == 1 ? 0.1 : 1.0 / Math.sqrt(shape[1]);
                for (int i = 0; i < values.length; i++) {
                    values[i] = norm ? (float) (1 + 0.1 * rnd.nextGaussian()) : (float) (rnd.nextGaussian() * std);
                }
                w.writeFloats(e.getKey(), values);
            }
        }
    }

    /** Writes {@code adapter} into {@code slot} of {@code pools}, as the registry prepares it first. */
    public static void write(LoraPools pools, int slot, String name, PeftAdapter adapter) throws IOException {
        pools.write(slot, pools.format().prepare(name, adapter));
    }

    /** A PEFT adapter on {@code modules} of every layer with random, nonzero A and B. */
    public static PeftAdapter randomAdapter(ModelConfig config, int rank, double alpha, long seed,
                                            List<String> modules) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : modules) {
                ModelConfig.LinearShape s = config.linear(m);
                float[] a = new float[rank * s.in()];
                float[] b = new float[s.out() * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (rnd.nextGaussian() / Math.sqrt(s.in()));
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (rnd.nextGaussian() * 0.2);
                }
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, s.in(), s.out(), a, b));
            }
        }
        return new PeftAdapter(LoraConfig.of(rank, alpha, false, modules, 0.0, "tiny"), weights);
    }

    public static PeftAdapter randomAdapter(ModelConfig config, int rank, long seed) {
        return randomAdapter(config, rank, 2.0 * rank, seed, ModelConfig.LINEAR_MODULES);
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    public static double maxAbsDiff(float[][] a, float[][] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, maxAbsDiff(a[i], b[i]));
        }
        return max;
    }
}
