package dev.quiver.datasets;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Datasets by task. */
@Repository
public interface TaskDatasetRepository extends JpaRepository<TaskDataset, String> {
    List<TaskDataset> findByTaskIdOrderByCreatedAtDesc(String taskId);

    Optional<TaskDataset> findByIdAndTaskId(String id, String taskId);

    boolean existsByProjectIdAndHeldoutFile(String projectId, String heldoutFile);

    Optional<TaskDataset> findFirstByProjectIdAndTrainingFile(String projectId, String trainingFile);
}
