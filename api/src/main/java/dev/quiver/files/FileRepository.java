package dev.quiver.files;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;
import java.util.Optional;

/** Uploaded files, always looked up within a project. */
@Repository
public interface FileRepository extends JpaRepository<StoredFile, String> {
    Optional<StoredFile> findByIdAndProjectId(String id, String projectId);

    List<StoredFile> findByProjectIdOrderByCreatedAtDesc(String projectId);

    long countBySha256(String sha256);
}
