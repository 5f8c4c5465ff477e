package dev.quiver.jobs;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Job events in insertion order. */
@Repository
public interface JobEventRepository extends JpaRepository<JobEvent, Long> {
    List<JobEvent> findByJobIdAndIdGreaterThanOrderById(String jobId, long afterId);

    boolean existsByJobIdAndSeq(String jobId, Long seq);

    /** The highest runner sequence number of the job; empty before its runner reported anything. */
    @Query("SELECT MAX(e.seq) FROM JobEvent e WHERE e.jobId = :jobId")
    Optional<Long> maxSeq(String jobId);
}
