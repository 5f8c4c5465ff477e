package dev.quiver.registry;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Registered adapter versions. */
@Repository
public interface AdapterRecordRepository extends JpaRepository<AdapterRecord, String> {
    @Query("SELECT a FROM AdapterRecord a WHERE a.projectId = :projectId ORDER BY a.name, a.version")
    List<AdapterRecord> listByProject(String projectId);

    List<AdapterRecord> findByProjectIdAndNameOrderByVersionDesc(String projectId, String name);

    Optional<AdapterRecord> findByProjectIdAndNameAndVersion(String projectId, String name, int version);

    List<AdapterRecord> findByNameOrderByVersionDesc(String name);
}
