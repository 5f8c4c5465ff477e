package dev.quiver.declared;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Random PEFT adapters for the generated tiny model, as directories and as zip archives. */
final class TestAdapters {
    private TestAdapters() {
    }

    /** Writes a rank-4 adapter with random, nonzero factors on every linear module to {@code dir}. */
    static Path write(ModelConfig config, long seed, Path dir) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        int rank = 4;
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : ModelConfig.LINEAR_MODULES) {
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
        new PeftAdapter(LoraConfig.of(rank, 2.0 * rank, false, ModelConfig.LINEAR_MODULES, 0.0, "tiny"), weights)
                .write(dir, DType.F32);
        return dir;
    }

    /** The adapter directory's two files as a zip, inside a folder as archives made by hand often are. */
    static byte[] zip(Path dir) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("adapter/README.md"));
            zip.write("an adapter".getBytes());
            zip.closeEntry();
            for (String file : AdapterSourceFetcher.FILES) {
                zip.putNextEntry(new ZipEntry("adapter/" + file));
                zip.write(Files.readAllBytes(dir.resolve(file)));
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }
}
