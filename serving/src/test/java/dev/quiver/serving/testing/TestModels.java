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
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

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
        Map<String, long[]> shapes = config.expectedWeights();
        List<SafetensorsWriter.Spec> specs = new java.util.ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new SafetensorsWriter.Spec(name, DType.BF16, shape)));
        SplittableRandom rnd = new SplittableRandom(11);
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
        return dir;
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
