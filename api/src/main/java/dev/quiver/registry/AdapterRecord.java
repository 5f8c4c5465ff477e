package dev.quiver.registry;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A registered adapter version; its PEFT directory lives under the data dir's {@code adapters/<id>}. */
@Entity
@Table(name = "adapters")
public class AdapterRecord {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String name;
    private int version;
    @Column(name = "base_model")
    private String baseModel;
    @Column(name = "lora_rank")
    private int loraRank;
    private double alpha;
    @Column(name = "target_modules")
    private String targetModules;
    private String sha256;
    private long bytes;
    @Column(name = "source_job")
    private String sourceJob;
    @Column(name = "created_at")
    private Instant createdAt;

    protected AdapterRecord() {
    }

    public AdapterRecord(String id, String projectId, String name, int version, String baseModel, int loraRank,
                         double alpha, String targetModules, String sha256, long bytes, String sourceJob,
                         Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.name = name;
        this.version = version;
        this.baseModel = baseModel;
        this.loraRank = loraRank;
        this.alpha = alpha;
        this.targetModules = targetModules;
        this.sha256 = sha256;
        this.bytes = bytes;
        this.sourceJob = sourceJob;
        this.createdAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getName() {
        return name;
    }

    public int getVersion() {
        return version;
    }

    public String getBaseModel() {
        return baseModel;
    }

    public int getLoraRank() {
        return loraRank;
    }

    public double getAlpha() {
        return alpha;
    }

    public String getTargetModules() {
        return targetModules;
    }

    public String getSha256() {
        return sha256;
    }

    public long getBytes() {
        return bytes;
    }

    public String getSourceJob() {
        return sourceJob;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }
}
