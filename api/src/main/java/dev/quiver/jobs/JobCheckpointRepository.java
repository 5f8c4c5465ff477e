package dev.quiver.jobs;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;

/** Job checkpoints by step. */
@Repository
public interface JobCheckpointRepository extends JpaRepository<JobCheckpoint, String> {
    List<JobCheckpoint> findByJobIdOrderByStepDesc(String jobId);

    long countBySha256(String sha256);
}
