package dev.quiver.files;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** An uploaded, validated training file; its bytes live in the blob store under {@code sha256}. */
@Entity
@Table(name = "files")
public class StoredFile {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String filename;
    private String purpose;
    private long bytes;
    private String sha256;
    private String format;
    private int examples;
    private long tokens;
    @Column(name = "max_example_tokens")
    private int maxExampleTokens;
    @Column(name = "created_at")
    private Instant createdAt;

    protected StoredFile() {
    }

    public StoredFile(String id, String projectId, String filename, String purpose, long bytes, String sha256,
                      String format, int examples, long tokens, int maxExampleTokens, Instant createdAt) {
        this.id = id;
        this.projectId = projectId;
        this.filename = filename;
        this.purpose = purpose;
        this.bytes = bytes;
        this.sha256 = sha256;
        this.format = format;
        this.examples = examples;
        this.tokens = tokens;
        this.maxExampleTokens = maxExampleTokens;
        this.createdAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getProjectId() {
        return projectId;
    }

    public String getFilename() {
        return filename;
    }

    public String getPurpose() {
        return purpose;
    }

    public long getBytes() {
        return bytes;
    }

    public String getSha256() {
        return sha256;
    }

    public String getFormat() {
        return format;
    }

    public int getExamples() {
        return examples;
    }

    public long getTokens() {
        return tokens;
    }

    public int getMaxExampleTokens() {
        return maxExampleTokens;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public DatasetStatistics statistics() {
        return new DatasetStatistics(format, examples, tokens, maxExampleTokens);
    }
}
