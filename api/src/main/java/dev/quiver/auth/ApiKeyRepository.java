package dev.quiver.auth;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** API keys, looked up by hash. */
@Repository
public interface ApiKeyRepository extends JpaRepository<ApiKey, String> {
    Optional<ApiKey> findByKeyHash(String keyHash);

    List<ApiKey> findByProjectIdOrderByCreatedAt(String projectId);

    List<ApiKey> findAllOrderByCreatedAt();

    List<ApiKey> findByDeclaredTrueAndRevokedFalse();

    /** Records a use unless one was recorded after {@code since}; returns the rows changed (0 or 1). */
    @Query("UPDATE ApiKey k SET k.lastUsedAt = :now"
            + " WHERE k.id = :id AND (k.lastUsedAt IS NULL OR k.lastUsedAt < :since)")
    int recordUse(String id, Instant now, Instant since);
}
