package dev.quiver.auth;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A Bearer API key, stored as its SHA-256 only; the clear key is shown once at creation. */
@Entity
@Table(name = "api_keys")
public class ApiKey {
    @Id
    private String id;
    @Column(name = "project_id")
    private String projectId;
    private String name;
    @Column(name = "key_prefix")
    private String keyPrefix;
    @Column(name = "key_hash")
    private String keyHash;
    @Column(name = "created_at")
    private Instant createdAt;
    private boolean revoked;
    @Column(name = "revoked_at")
    private Instant revokedAt;
    @Column(name = "last_used_at")
    private Instant lastUsedAt;
    private boolean admin;
    private boolean declared;

    protected ApiKey() {
    }

    public ApiKey(String id, String projectId, String name, String keyPrefix, String keyHash, Instant createdAt,
                  boolean admin, boolean declared) {
        this.id = id;
        this.projectId = projectId;
        this.name = name;
        this.keyPrefix = keyPrefix;
        this.keyHash = keyHash;
        this.createdAt = createdAt;
        this.admin = admin;
        this.declared = declared;
    }

    /** Revokes the key for good; revoking twice keeps the first time. */
    public void revoke(Instant now) {
        if (!revoked) {
            revoked = true;
            revokedAt = now;
        }
    }

    /** Marks the key as one the keys file declares, with the admin flag the file gives it. */
    public void declare(boolean admin) {
        this.declared = true;
        this.admin = admin;
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

    public String getKeyPrefix() {
        return keyPrefix;
    }

    public String getKeyHash() {
        return keyHash;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public boolean isRevoked() {
        return revoked;
    }

    public Instant getRevokedAt() {
        return revokedAt;
    }

    public Instant getLastUsedAt() {
        return lastUsedAt;
    }

    public boolean isAdmin() {
        return admin;
    }

    public boolean isDeclared() {
        return declared;
    }
}
