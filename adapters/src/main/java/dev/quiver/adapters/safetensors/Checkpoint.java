package dev.quiver.adapters.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a Hugging Face model directory: one {@code model.safetensors} or shards listed in
 * {@code model.safetensors.index.json}, seen as one name-to-tensor map.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private Checkpoint(List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.files = files;
        this.byTensor = byTensor;
    }

    /** Opens the weights of {@code modelDir}, preferring the shard index when both exist. */
    public static Checkpoint open(Path modelDir) throws IOException {
        Path index = modelDir.resolve(INDEX_FILE);
        if (Files.exists(index)) {
            return openSharded(modelDir, index);
        }
        Path single = modelDir.resolve(SINGLE_FILE);
        if (!Files.exists(single)) {
            throw new NoSuchFileException(modelDir + ": neither " + SINGLE_FILE + " nor " + INDEX_FILE
                    + " found; a Hugging Face model directory needs its safetensors weights");
        }
        SafetensorsFile f = SafetensorsFile.open(single);
        Map<String, SafetensorsFile> map = new LinkedHashMap<>();
        f.tensors().keySet().forEach(n -> map.put(n, f));
        return new Checkpoint(List.of(f), Collections.unmodifiableMap(map));
    }

    private static Checkpoint openSharded(Path modelDir, Path index) throws IOException {
        JsonNode weightMap = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        if (!weightMap.isObject()) {
            throw new SafetensorsException(index, "missing \"weight_map\" object");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (var it = weightMap.fields(); it.hasNext(); ) {
                var e = it.next();
                String shardName = e.getValue().asText();
                if (shardName.contains("/") || shardName.contains("\\") || shardName.startsWith(".")) {
                    throw new SafetensorsException(index, "shard name '" + shardName + "' for tensor '" + e.getKey()
                            + "' must be a plain file name in the model directory");
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(modelDir.resolve(shardName));
                    opened.add(shard);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new SafetensorsException(shard.path(), "the index maps tensor '" + e.getKey()
                            + "' to this shard, but it is not in it");
                }
                byTensor.put(e.getKey(), shard);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : opened) {
                f.close();
            }
            throw e;
        }
        return new Checkpoint(List.copyOf(opened), Collections.unmodifiableMap(byTensor));
    }

    /** Every tensor name, in index or file order. */
    public Iterable<String> names() {
        return byTensor.keySet();
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    public TensorInfo info(String name) throws IOException {
        return file(name).tensors().get(name);
    }

    /** A memory-mapped view of tensor {@code name}. */
    public Tensor tensor(String name) throws IOException {
        return file(name).tensor(name);
    }

    /** A reader of floating-point tensor {@code name} that maps nothing (see {@link FloatReader}). */
    public FloatReader floatReader(String name) throws IOException {
        return file(name).floatReader(name);
    }

    private SafetensorsFile file(String name) throws IOException {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new NoSuchFileException("tensor '" + name + "' is not in the checkpoint");
        }
        return f;
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }
}
