package dev.quiver.evals;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** One line of an eval's log. */
@Entity
@Table(name = "eval_events")
public class EvalEvent {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;
    @Column(name = "eval_id")
    private String evalId;
    @Column(name = "created_at")
    private Instant createdAt;
    private String level;
    private String message;

    protected EvalEvent() {
    }

    public EvalEvent(String evalId, Instant createdAt, String level, String message) {
        this.evalId = evalId;
        this.createdAt = createdAt;
        this.level = level;
        this.message = message.length() > 3900 ? message.substring(0, 3900) : message;
    }

    public Long getId() {
        return id;
    }

    public String getEvalId() {
        return evalId;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public String getLevel() {
        return level;
    }

    public String getMessage() {
        return message;
    }
}
