package dev.quiver.auth;

import dev.quiver.server.Hashes;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/** Creates projects and API keys and resolves a presented key to its project. */
@Singleton
public class ApiKeyService {
    /** A freshly created key: {@code key} is the only time the clear text exists. */
    public record CreatedKey(String id, String projectId, String key) {
    }

    private final ProjectRepository projects;
    private final ApiKeyRepository keys;
    private final SecureRandom random = new SecureRandom();

    public ApiKeyService(ProjectRepository projects, ApiKeyRepository keys) {
        this.projects = projects;
        this.keys = keys;
    }

    /** Makes sure the default project exists (used on loopback without keys). */
    @Transactional
    public void ensureDefaultProject() {
        if (projects.findById(Project.DEFAULT_ID).isEmpty()) {
            projects.save(new Project(Project.DEFAULT_ID, "default", Instant.now()));
        }
    }

    /** Creates a key for {@code projectId}, creating the project if it is new. */
    @Transactional
    public CreatedKey create(String projectId, String name) {
        if (!projectId.matches("[a-zA-Z0-9_-]{1,60}")) {
            throw new IllegalArgumentException("project id '" + projectId
                    + "' must be 1-60 letters, digits, '-' or '_'");
        }
        if (projects.findById(projectId).isEmpty()) {
            projects.save(new Project(projectId, projectId, Instant.now()));
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String key = "qk-" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String id = "key-" + HexFormat.of().formatHex(secret, 0, 6);
        keys.save(new ApiKey(id, projectId, name, key.substring(0, 10), Hashes.sha256(key), Instant.now()));
        return new CreatedKey(id, projectId, key);
    }

    /** The project of a valid, unrevoked key. */
    @ReadOnly
    public Optional<String> projectOf(String presentedKey) {
        return keys.findByKeyHash(Hashes.sha256(presentedKey)).filter(k -> !k.isRevoked()).map(ApiKey::getProjectId);
    }
}
