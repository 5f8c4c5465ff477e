package dev.quiver.declared;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;

/** The control plane's record of each declared adapter. */
@Repository
public interface DeclaredAdapterStateRepository extends JpaRepository<DeclaredAdapterState, String> {
    List<DeclaredAdapterState> findByProjectIdOrderByName(String projectId);
}
