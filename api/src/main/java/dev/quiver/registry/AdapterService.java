package dev.quiver.registry;

import dev.quiver.http.ObjectIds;
import dev.quiver.adapters.blob.DataDir;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.http.ApiException;
import dev.quiver.serving.BaseModel;
import dev.quiver.serving.Serving;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Value;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The adapter registry: named, versioned PEFT adapters validated against the base model. A version is
 * registered all at once: its directory is moved into place and its row inserted in one transaction,
 * and a failed insert removes the directory, so no half-registered adapter is ever visible.
 */
@Singleton
public class AdapterService {
    /** Names clients may give adapters: also the {@code model} field of completion requests. */
    static final String NAME_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9:._-]{0,199}";

    private final AdapterRecordRepository records;
    private final DataDir dataDir;
    private final BaseModel baseModel;
    private final int maxRank;
    private final BeanProvider<Serving> serving;

    public AdapterService(AdapterRecordRepository records, DataDir dataDir, BaseModel baseModel,
                          @Value("${quiver.adapters.max-rank:" + PeftAdapter.MAX_RANK + "}") int maxRank,
                          BeanProvider<Serving> serving) {
        this.serving = serving;
        this.records = records;
        this.dataDir = dataDir;
        this.baseModel = baseModel;
        this.maxRank = maxRank;
    }

    /** A fresh staging directory (inside the data dir, so the final move is a rename). */
    public Path newStagingDir() throws IOException {
        Path staging = dataDir.resolve("adapters/.staging");
        Files.createDirectories(staging);
        return Files.createTempDirectory(staging, "upload-");
    }

    /**
     * Validates the PEFT directory {@code staged} against the base model and registers it as the next
     * version of {@code name}. The staged directory is consumed (moved or deleted).
     */
    @Transactional
    public AdapterRecord register(String projectId, String name, String sourceJob, Path staged) {
        if (name == null || !name.matches(NAME_PATTERN)) {
            deleteTree(staged);
            throw ApiException.invalid("name", "adapter name '" + name + "' must match " + NAME_PATTERN);
        }
        if (name.equalsIgnoreCase(baseModel.name())) {
            deleteTree(staged);
            // requests name the base model and adapters alike in "model", and the base answers first
            throw ApiException.invalid("name", "adapter name '" + name + "' is the base model's name, so requests"
                    + " for it would reach the base model and never the adapter; choose another name");
        }
        PeftAdapter adapter;
        try {
            adapter = PeftAdapter.read(staged);
            adapter.validateAgainst(baseModel.config(), maxRank);
        } catch (IOException e) {
            deleteTree(staged);
            // the reader names files by their staging path: tenants see them by their own names only
            String message = String.valueOf(e.getMessage()).replace(staged.toString() + "/", "")
                    .replace(staged.toString(), "the upload");
            throw ApiException.invalid("file", "invalid adapter: " + message);
        }
        servingProblem(adapter).ifPresent(problem -> {
            deleteTree(staged);
            throw ApiException.invalid("adapter_config", problem);
        });
        String id = ObjectIds.next("adapter-", 10);
        Path target = dir(id);
        try {
            Files.createDirectories(target.getParent());
            String digest = sha256(staged.resolve(PeftAdapter.WEIGHTS_FILE));
            long bytes = Files.size(staged.resolve(PeftAdapter.WEIGHTS_FILE))
                    + Files.size(staged.resolve(LoraConfig.FILE));
            int version = records.findByProjectIdAndNameOrderByVersionDesc(projectId, name).stream()
                    .mapToInt(AdapterRecord::getVersion).max().orElse(0) + 1;
            LoraConfig c = adapter.config();
            String targets = c.targetModulesRegex() != null ? c.targetModulesRegex()
                    : String.join(",", c.targetModules());
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            try {
                return records.save(new AdapterRecord(id, projectId, name, version, baseModel.name(),
                        adapter.maxRank(), c.loraAlpha(), targets, digest, bytes, sourceJob, Instant.now()));
            } catch (RuntimeException e) {
                deleteTree(target);
                throw e;
            }
        } catch (IOException e) {
            deleteTree(staged);
            deleteTree(target);
            throw new IllegalStateException("could not store adapter " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Why the serving tier could not hold {@code adapter}, when there is a serving tier to ask: such an adapter
     * would register, and every completion on it would fail.
     */
    private Optional<String> servingProblem(PeftAdapter adapter) {
        if (!serving.isPresent()) {
            return Optional.empty();
        }
        int limit = serving.get().limits().maxLoraRank();
        return adapter.maxRank() <= limit ? Optional.empty() : Optional.of("adapter rank " + adapter.maxRank()
                + " is above " + limit + ", the largest LoRA rank the serving tier holds"
                + " (quiver.serving.max-lora-rank); retrain it with r (and every rank_pattern entry) at most " + limit);
    }

    /** Imports an uploaded PEFT adapter (its two files) as a new version of {@code name}. */
    public AdapterRecord importUpload(String projectId, String name, InputStream config, InputStream weights) {
        try {
            Path staged = newStagingDir();
            try {
                Files.copy(config, staged.resolve(LoraConfig.FILE));
                Files.copy(weights, staged.resolve(PeftAdapter.WEIGHTS_FILE));
            } catch (IOException e) {
                deleteTree(staged);
                throw e;
            }
            return register(projectId, name, null, staged);
        } catch (IOException e) {
            throw new IllegalStateException("could not stage upload: " + e.getMessage(), e);
        }
    }

    @ReadOnly
    public List<AdapterRecord> list(String projectId) {
        return records.listByProject(projectId);
    }

    /** {@code name} (newest version) or {@code name@version}, within a project. */
    @ReadOnly
    public Optional<AdapterRecord> find(String projectId, String reference) {
        int at = reference.lastIndexOf('@');
        if (at > 0) {
            try {
                int version = Integer.parseInt(reference.substring(at + 1));
                return records.findByProjectIdAndNameAndVersion(projectId, reference.substring(0, at), version);
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return records.findByProjectIdAndNameOrderByVersionDesc(projectId, reference).stream().findFirst();
    }

    @ReadOnly
    public AdapterRecord get(String projectId, String reference) {
        return find(projectId, reference).orElseThrow(() -> ApiException.notFound("adapter", reference));
    }

    /** The PEFT directory of a registered version. */
    public Path dir(AdapterRecord record) {
        return dir(record.getId());
    }

    private Path dir(String id) {
        return dataDir.resolve("adapters/" + id);
    }

    /** Deletes one version (or the newest of a name): its row, then its files. */
    @Transactional
    public AdapterRecord delete(String projectId, String reference) {
        AdapterRecord record = get(projectId, reference);
        records.delete(record);
        deleteTree(dir(record));
        return record;
    }

    /** Removes a version's files after its registration was rolled back. */
    public void discardFiles(AdapterRecord record) {
        deleteTree(dir(record));
    }

    /** The adapter's PEFT files as a zip, compressed as it is read. */
    public InputStream zip(AdapterRecord record) {
        Map<String, Path> files = new LinkedHashMap<>();
        for (String file : List.of(LoraConfig.FILE, PeftAdapter.WEIGHTS_FILE)) {
            files.put(file, dir(record).resolve(file));
        }
        return new ZipOfFiles(files);
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes a directory from {@link #newStagingDir} that will not be registered. */
    public void discardStaging(Path staged) {
        deleteTree(staged);
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover staging dir is never visible as an adapter
        }
    }
}
