package dev.quiver.tasks;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;

/** Task histories, oldest revision first. */
@Repository
public interface TaskVersionRepository extends JpaRepository<TaskVersion, Long> {
    List<TaskVersion> findByTaskIdOrderByRevision(String taskId);

    void deleteByTaskId(String taskId);
}
