package dev.quiver.auth;

import dev.quiver.server.Hashes;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Creates, resolves, lists and revokes API keys, and creates the projects they act in. */
@Singleton
public class ApiKeyService {
    /** A freshly created key: {@code key} is the only time the clear text exists. */
    public record CreatedKey(KeyView view, String key) {
        public String id() {
            return view.id();
        }

        public String projectId() {
            return view.project();
        }
    }

    /** Who a valid, unrevoked key speaks for. */
    public record Caller(String keyId, String projectId, boolean admin) {
    }

    /** What {@link #ensure} did with a declared key. */
    public enum Provisioning { ADDED, UPDATED, UNCHANGED, REVOKED }

    /** What every Quiver key starts with, so a Quiver key is told apart from another service's. */
    public static final String KEY_PREFIX = "qk-";

    /** The shape of a pre-provisioned key (as the Helm chart's schema requires it). */
    private static final String PROVISIONED_KEY = KEY_PREFIX + "[A-Za-z0-9_-]{20,}";

    // a write per request would make every call a database write; last use to the minute is enough to audit
    private static final Duration LAST_USED_RESOLUTION = Duration.ofMinutes(1);

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

    /** Creates a tenant key for {@code projectId}, creating the project if it is new. */
    @Transactional
    public CreatedKey create(String projectId, String name) {
        return create(projectId, name, false);
    }

    /** Creates a key for {@code projectId}, an admin key when {@code admin}, creating the project if it is new. */
    @Transactional
    public CreatedKey create(String projectId, String name, boolean admin) {
        ensureProject(projectId);
        checkName(name);
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String key = KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String id = "key-" + HexFormat.of().formatHex(secret, 0, 6);
        ApiKey saved = keys.save(new ApiKey(id, projectId, name, key.substring(0, 10), Hashes.sha256(key),
                Instant.now(), admin, false));
        return new CreatedKey(KeyView.of(saved), key);
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
     * Makes sure {@code clearKey} (a pre-provisioned {@code qk-...} key of the keys file) is a declared key of
     * {@code projectId}, stored hashed, admin or not as declared. Safe to repeat. A key that belongs to another
     * project is refused; a revoked key stays revoked (a leaked key must not come back with the next file).
     */
    @Transactional
    public Provisioning ensure(String projectId, String name, String clearKey, boolean admin) {
        if (clearKey == null || !clearKey.matches(PROVISIONED_KEY)) {
            throw new IllegalArgumentException("key '" + name + "' must look like qk- followed by at least 20"
                    + " letters, digits, '-' or '_'");
        }
        String hash = Hashes.sha256(clearKey);
        Optional<ApiKey> existing = keys.findByKeyHash(hash);
        if (existing.isPresent()) {
            ApiKey k = existing.get();
            if (!k.getProjectId().equals(projectId)) {
                throw new IllegalArgumentException("key '" + name + "' is already a key of project '"
                        + k.getProjectId() + "', not of '" + projectId + "'; a key belongs to one project");
            }
            if (k.isRevoked()) {
                return Provisioning.REVOKED;
            }
            if (k.isDeclared() && k.isAdmin() == admin) {
                return Provisioning.UNCHANGED;
            }
            k.declare(admin);
            keys.update(k);
            return Provisioning.UPDATED;
        }
        ensureProject(projectId);
        keys.save(new ApiKey("key-" + hash.substring(0, 12), projectId, name, clearKey.substring(0, 10), hash,
                Instant.now(), admin, true));
        return Provisioning.ADDED;
    }

    /** Revokes every declared key whose hash is not in {@code declaredHashes}; returns those revoked. */
    @Transactional
    public List<KeyView> revokeDeclaredExcept(Set<String> declaredHashes) {
        List<KeyView> revoked = new ArrayList<>();
        Instant now = Instant.now();
        for (ApiKey k : keys.findByDeclaredTrueAndRevokedFalse()) {
            if (!declaredHashes.contains(k.getKeyHash())) {
                k.revoke(now);
                revoked.add(KeyView.of(keys.update(k)));
            }
        }
        return revoked;
    }

    /** Every key, oldest first, or those of {@code projectId} when it is given. */
    @ReadOnly
    public List<KeyView> list(@Nullable String projectId) {
        List<ApiKey> found = projectId == null ? keys.findAllOrderByCreatedAt()
                : keys.findByProjectIdOrderByCreatedAt(projectId);
        return found.stream().map(KeyView::of).toList();
    }

    /** Key {@code id}, when there is one. */
    @ReadOnly
    public Optional<KeyView> find(String id) {
        return keys.findById(id).map(KeyView::of);
    }

    /** Revokes key {@code id} for good (repeating it changes nothing); empty when there is no such key. */
    @Transactional
    public Optional<KeyView> revoke(String id) {
        return keys.findById(id).map(k -> {
            k.revoke(Instant.now());
            return KeyView.of(keys.update(k));
        });
    }

    /**
     * The caller behind a presented key, when it is valid and not revoked; records the use at most once a
     * minute. Every call reads the database, so a revocation holds on every replica at once.
     */
    @Transactional
    public Optional<Caller> authenticate(String presentedKey) {
        Optional<ApiKey> key = keys.findByKeyHash(Hashes.sha256(presentedKey)).filter(k -> !k.isRevoked());
        key.ifPresent(k -> {
            Instant now = Instant.now();
            if (k.getLastUsedAt() == null || k.getLastUsedAt().isBefore(now.minus(LAST_USED_RESOLUTION))) {
                keys.recordUse(k.getId(), now, now.minus(LAST_USED_RESOLUTION));
            }
        });
        return key.map(k -> new Caller(k.getId(), k.getProjectId(), k.isAdmin()));
    }

    /** The project of a valid, unrevoked key. */
    public Optional<String> projectOf(String presentedKey) {
        return authenticate(presentedKey).map(Caller::projectId);
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

    private static void checkName(String name) {
        if (name == null || name.isBlank() || name.length() > 200) {
            throw new IllegalArgumentException("key name must be 1-200 characters, e.g. 'ci' or 'alice-laptop'");
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
}
