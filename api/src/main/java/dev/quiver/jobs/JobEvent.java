package dev.quiver.jobs;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * One line of a job's event log: a message, or metrics with their JSON in {@code data}. Events the runner reports
 * carry its sequence number {@code seq}; the control plane's own have none.
 */
@Entity
@Table(name = "job_events")
public class JobEvent {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;
    @Column(name = "job_id")
    private String jobId;
    @Column(name = "created_at")
    private Instant createdAt;
    private String level;
    private String type;
    private String message;
    private String data;
    private Long seq;

    protected JobEvent() {
    }

    public JobEvent(String jobId, Instant createdAt, String level, String type, String message, String data) {
        this(jobId, null, createdAt, level, type, message, data);
    }

    public JobEvent(String jobId, Long seq, Instant createdAt, String level, String type, String message,
                    String data) {
        this.jobId = jobId;
        this.seq = seq;
        this.createdAt = createdAt;
        this.level = level;
        this.type = type;
        this.message = message.length() > 3900 ? message.substring(0, 3900) : message;
        this.data = data;
    }

    public Long getId() {
        return id;
    }

    public String getJobId() {
        return jobId;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public String getLevel() {
        return level;
    }

    public String getType() {
        return type;
    }

    public String getMessage() {
        return message;
    }

    public String getData() {
        return data;
    }

    /** The runner's sequence number, or null for an event of the control plane. */
    public Long getSeq() {
        return seq;
    }
}
