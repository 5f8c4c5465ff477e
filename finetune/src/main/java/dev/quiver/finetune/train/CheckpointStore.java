package dev.quiver.finetune.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.quiver.adapters.blob.AtomicFiles;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsFile;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories {@code checkpoint-<step>/}: the adapter (a PEFT directory), the optimizer's
 * moments in {@code optimizer.safetensors} and {@code trainer_state.json}. Each appears atomically, so a
 * run killed while saving leaves the previous checkpoint as the newest complete one.
 */
public final class CheckpointStore {
    static final String ADAPTER = "adapter";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String STATE = "trainer_state.json";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final int keep;

    public CheckpointStore(Path dir, int keep) {
        this.dir = dir;
        this.keep = keep;
    }

    /** A checkpoint read back. */
    record Saved(Path path, TrainerState state, PeftAdapter adapter, int optimizerStep, List<float[]> expAvg,
                 List<float[]> expAvgSq) {
    }

    /** Writes the checkpoint of {@code state.completedSteps()} and prunes older ones beyond the newest {@code keep}. */
    Path save(TrainerState state, PeftAdapter adapter, AdamW optimizer, List<String> keys) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve("checkpoint-" + state.completedSteps());
        List<Tensor> moments = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            long[] shape = optimizer.expAvg().get(i).getShape().getShape();
            moments.add(Tensor.ofFloats(keys.get(i) + ".exp_avg", DType.F32, shape,
                    optimizer.expAvg().get(i).toFloatArray()));
            moments.add(Tensor.ofFloats(keys.get(i) + ".exp_avg_sq", DType.F32, shape,
                    optimizer.expAvgSq().get(i).toFloatArray()));
        }
        String stateJson = JSON.writeValueAsString(state) + "\n";
        AtomicFiles.writeDirectoryAtomically(target, tmp -> {
            adapter.write(tmp.resolve(ADAPTER), DType.F32);
            SafetensorsWriter.write(tmp.resolve(OPTIMIZER), moments, Map.of("step",
                    Integer.toString(optimizer.step())));
            Files.writeString(tmp.resolve(STATE), stateJson);
        });
        prune();
        return target;
    }

    /** The newest checkpoint, if any. */
    Optional<Saved> latest(List<String> keys) throws IOException {
        List<Path> all = checkpoints();
        if (all.isEmpty()) {
            return Optional.empty();
        }
        Path newest = all.get(all.size() - 1);
        TrainerState state = JSON.readValue(newest.resolve(STATE).toFile(), TrainerState.class);
        PeftAdapter adapter = PeftAdapter.read(newest.resolve(ADAPTER));
        List<float[]> avg = new ArrayList<>();
        List<float[]> avgSq = new ArrayList<>();
        int step;
        try (SafetensorsFile f = SafetensorsFile.open(newest.resolve(OPTIMIZER))) {
            step = Integer.parseInt(f.metadata().getOrDefault("step", "-1"));
            for (String key : keys) {
                avg.add(f.tensor(key + ".exp_avg").toFloats());
                avgSq.add(f.tensor(key + ".exp_avg_sq").toFloats());
            }
        }
        return Optional.of(new Saved(newest, state, adapter, step, avg, avgSq));
    }

    /** Complete checkpoints, oldest first. */
    List<Path> checkpoints() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(STATE)))
                    .sorted(Comparator.comparingInt(CheckpointStore::step))
                    .toList();
        }
    }

    private void prune() throws IOException {
        List<Path> all = checkpoints();
        for (int i = 0; i < all.size() - keep; i++) {
            deleteTree(all.get(i));
        }
    }

    private static int step(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    public Path dir() {
        return dir;
    }
}
