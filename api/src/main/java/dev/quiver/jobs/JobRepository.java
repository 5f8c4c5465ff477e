package dev.quiver.jobs;

import io.micronaut.data.annotation.Repository;
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
}
