package dev.quiver.serving.bench;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random PEFT adapters on every linear module, for benchmarks: the speed of serving an adapter
 * does not depend on what it learned, only on its rank, targets and size.
 */
final class RandomAdapters {
    private RandomAdapters() {
    }

    /** Writes a rank-{@code rank} all-linear adapter of {@code base} to {@code dir} unless one is there. */
    static void writeIfMissing(Path dir, ModelConfig base, int rank, long seed) throws IOException {
        if (Files.exists(dir.resolve(PeftAdapter.WEIGHTS_FILE))) {
            return;
        }
        of(base, rank, seed).write(dir, DType.F32);
    }

    static PeftAdapter of(ModelConfig base, int rank, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < base.numLayers(); l++) {
            for (String m : ModelConfig.LINEAR_MODULES) {
                ModelConfig.LinearShape s = base.linear(m);
                float[] a = new float[rank * s.in()];
                float[] b = new float[s.out() * rank];
                double aStd = 1 / Math.sqrt(s.in());
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (rnd.nextGaussian() * aStd);
                }
                // a trained B is small next to the base weights; zero would let a kernel skip work it must do
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (rnd.nextGaussian() * 0.01);
                }
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, s.in(), s.out(), a, b));
            }
        }
        return new PeftAdapter(LoraConfig.of(rank, 2.0 * rank, false, ModelConfig.LINEAR_MODULES, 0.0, "bench"),
                weights);
    }

    /** Bytes of the adapter's fp32 weights: what it adds to host memory and to one slot. */
    static long bytes(ModelConfig base, int rank) {
        long floats = 0;
        for (String m : ModelConfig.LINEAR_MODULES) {
            ModelConfig.LinearShape s = base.linear(m);
            floats += (long) rank * (s.in() + s.out());
        }
        return floats * base.numLayers() * Float.BYTES;
    }
}
