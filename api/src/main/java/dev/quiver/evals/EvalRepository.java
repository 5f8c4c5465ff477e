package dev.quiver.evals;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Evals by project, task, model and file. */
@Repository
public interface EvalRepository extends JpaRepository<Eval, String> {
    Optional<Eval> findByIdAndProjectId(String id, String projectId);

    List<Eval> findByProjectIdOrderByCreatedAtDesc(String projectId);

    List<Eval> findByTaskIdOrderByCreatedAtDesc(String taskId);

    Optional<Eval> findFirstByTaskIdAndModelAndFileIdAndStatusOrderByCreatedAtDesc(String taskId, String model,
                                                                                    String fileId, String status);

    void deleteByTaskId(String taskId);
}
