package dev.quiver.auth;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** An isolation boundary: every file, job and adapter belongs to one project. */
@Entity
@Table(name = "projects")
public class Project {
    /** The project used when the server runs on loopback without keys. */
    public static final String DEFAULT_ID = "proj-default";

    @Id
    private String id;
    private String name;
    @Column(name = "created_at")
    private Instant createdAt;

    protected Project() {
    }

    public Project(String id, String name, Instant createdAt) {
        this.id = id;
        this.name = name;
        this.createdAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getName() {
        return name;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }
}
