package dev.quiver.jobs;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;

/** Job events in insertion order. */
@Repository
public interface JobEventRepository extends JpaRepository<JobEvent, Long> {
    List<JobEvent> findByJobIdAndIdGreaterThanOrderById(String jobId, long afterId);
}
