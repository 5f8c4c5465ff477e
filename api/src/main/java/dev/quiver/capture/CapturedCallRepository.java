package dev.quiver.capture;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import io.micronaut.data.model.Pageable;
import java.time.Instant;
import java.util.List;

/** Captured calls by task, side and time. */
@Repository
public interface CapturedCallRepository extends JpaRepository<CapturedCall, Long> {
    List<CapturedCall> findByTaskIdAndSideAndCreatedAtBetweenOrderById(String taskId, String side, Instant from,
                                                                       Instant to);

    List<CapturedCall> findByTaskIdOrderByIdDesc(String taskId, Pageable page);

    long countByTaskIdAndSide(String taskId, String side);

    void deleteByTaskId(String taskId);

    void deleteByTaskIdAndCreatedAtLessThan(String taskId, Instant before);
}
