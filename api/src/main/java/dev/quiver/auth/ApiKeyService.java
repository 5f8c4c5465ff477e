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

    /** What every Quiver key starts with, so a Quiver key is told apart from another service's. */
    public static final String KEY_PREFIX = "qk-";

    /** The shape of a pre-provisioned key (as the Helm chart's schema requires it). */
    private static final String PROVISIONED_KEY = KEY_PREFIX + "[A-Za-z0-9_-]{20,}";

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
        checkProjectId(projectId);
        if (projects.findById(projectId).isEmpty()) {
            projects.save(new Project(projectId, projectId, Instant.now()));
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String key = KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String id = "key-" + HexFormat.of().formatHex(secret, 0, 6);
        keys.save(new ApiKey(id, projectId, name, key.substring(0, 10), Hashes.sha256(key), Instant.now()));
        return new CreatedKey(id, projectId, key);
    }

    /** Makes sure project {@code projectId} exists, creating it (named by its id) if it is new. */
    @Transactional
    public void ensureProject(String projectId) {
        checkProjectId(projectId);
        if (projects.findById(projectId).isEmpty()) {
            projects.save(new Project(projectId, projectId, Instant.now()));
        }
    }

    /**
     * Makes sure {@code clearKey} (a pre-provisioned {@code qk-...} key) is a key of {@code projectId}, stored
     * hashed; returns whether it was added. Safe to repeat; a key that belongs to another project is refused.
     */
    @Transactional
    public boolean ensure(String projectId, String name, String clearKey) {
        if (clearKey == null || !clearKey.matches(PROVISIONED_KEY)) {
            throw new IllegalArgumentException("key '" + name + "' must look like qk- followed by at least 20"
                    + " letters, digits, '-' or '_'");
        }
        String hash = Hashes.sha256(clearKey);
        Optional<ApiKey> existing = keys.findByKeyHash(hash);
        if (existing.isPresent()) {
            if (!existing.get().getProjectId().equals(projectId)) {
                throw new IllegalArgumentException("key '" + name + "' is already a key of project '"
                        + existing.get().getProjectId() + "', not of '" + projectId + "'; a key belongs to one project");
            }
            return false;
        }
        ensureProject(projectId);
        keys.save(new ApiKey("key-" + hash.substring(0, 12), projectId, name, clearKey.substring(0, 10), hash,
                Instant.now()));
        return true;
    }

    /** Whether {@code projectId} has the shape of a project id: 1-60 letters, digits, '-' or '_'. */
    public static boolean isProjectId(String projectId) {
        return projectId != null && projectId.matches("[a-zA-Z0-9_-]{1,60}");
    }

    private static void checkProjectId(String projectId) {
        if (!isProjectId(projectId)) {
            throw new IllegalArgumentException("project id '" + projectId
                    + "' must be 1-60 letters, digits, '-' or '_'");
        }
    }

    /** Whether {@code credential} has the shape of a Quiver key (valid or not). */
    public static boolean looksLikeKey(String credential) {
        return credential.startsWith(KEY_PREFIX);
    }

    /** Whether project {@code projectId} exists. */
    @ReadOnly
    public boolean projectExists(String projectId) {
        return projects.existsById(projectId);
    }

    /** The project of a valid, unrevoked key. */
    @ReadOnly
    public Optional<String> projectOf(String presentedKey) {
        return keys.findByKeyHash(Hashes.sha256(presentedKey)).filter(k -> !k.isRevoked()).map(ApiKey::getProjectId);
    }
}
