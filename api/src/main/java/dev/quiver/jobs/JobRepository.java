package dev.quiver.jobs;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.Query;
import io.micronaut.data.annotation.Repository;
import java.time.Instant;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Fine-tuning jobs. */
@Repository
public interface JobRepository extends JpaRepository<FineTuningJob, String> {
    Optional<FineTuningJob> findByIdAndProjectId(String id, String projectId);

    List<FineTuningJob> findByProjectIdOrderByCreatedAtDesc(String projectId);

    List<FineTuningJob> findByStatusOrderByCreatedAt(JobStatus status);

    long countByStatus(JobStatus status);

    /** Sets the heartbeat without touching the row version: a report must not fail a concurrent cancel. */
    @Query("UPDATE FineTuningJob j SET j.heartbeatAt = :at WHERE j.id = :id")
    void updateHeartbeat(String id, @Nullable Instant at);

    /** Sets the best checkpoint without touching the row version (the job has ended; only its evals go on). */
    @Query("UPDATE FineTuningJob j SET j.bestCheckpoint = :json WHERE j.id = :id")
    void updateBestCheckpoint(String id, String json);
}
