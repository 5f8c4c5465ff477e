package dev.quiver.declared;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * What the control plane last made of one declared adapter: the source it imported, a digest of what it
 * imported, the registry version that resulted ({@code adapterRef}, {@code name@version}) and, while the
 * declaration cannot be met, the error. A retired row stays: the registry keeps its versions.
 */
@Entity
@Table(name = "declared_adapters")
public class DeclaredAdapterState {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String name;
    private String source;
    @Column(name = "source_digest")
    private String sourceDigest;
    @Column(name = "adapter_id")
    private String adapterId;
    @Column(name = "adapter_ref")
    private String adapterRef;
    private boolean pinned;
    private boolean retired;
    private String error;
    @Column(name = "updated_at")
    private Instant updatedAt;

    protected DeclaredAdapterState() {
    }

    public DeclaredAdapterState(String projectId, String name) {
        this.id = id(projectId, name);
        this.projectId = projectId;
        this.name = name;
        this.updatedAt = Instant.now();
    }

    static String id(String projectId, String name) {
        return projectId + "/" + name;
    }

    /** Records a successful resolution of the declaration. */
    void resolved(String source, String sourceDigest, String adapterId, String adapterRef, boolean pinned) {
        this.source = source;
        this.sourceDigest = sourceDigest;
        this.adapterId = adapterId;
        this.adapterRef = adapterRef;
        this.pinned = pinned;
        this.retired = false;
        this.error = null;
        this.updatedAt = Instant.now();
    }

    /** Records why the declaration cannot be met now; what it resolved to before stays. */
    void failed(String source, boolean pinned, String error) {
        if (this.source == null) {
            this.source = source;
        }
        this.pinned = pinned;
        this.retired = false;
        this.error = error.length() > 4000 ? error.substring(0, 4000) : error;
        this.updatedAt = Instant.now();
    }

    void retire() {
        this.pinned = false;
        this.retired = true;
        this.error = null;
        this.updatedAt = Instant.now();
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

    public String getSource() {
        return source;
    }

    public String getSourceDigest() {
        return sourceDigest;
    }

    public String getAdapterId() {
        return adapterId;
    }

    public String getAdapterRef() {
        return adapterRef;
    }

    public boolean isPinned() {
        return pinned;
    }

    public boolean isRetired() {
        return retired;
    }

    public String getError() {
        return error;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }
}
