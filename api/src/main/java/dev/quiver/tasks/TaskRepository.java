package dev.quiver.tasks;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Tasks by project and name. */
@Repository
public interface TaskRepository extends JpaRepository<Task, String> {
    Optional<Task> findByProjectIdAndName(String projectId, String name);

    List<Task> findByProjectIdOrderByName(String projectId);
}
