package dev.quiver.declared;

import dev.quiver.auth.ApiKeyService;
import dev.quiver.auth.KeyView;
import dev.quiver.server.Hashes;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provisions the API keys of the keys file ({@code quiver.auth.keys-file}, the chart's Secret) in the
 * control plane: stored hashed, at start and whenever the file's content changes. The file is the desired
 * state: a key removed from it is revoked when the changed file is applied. A file that is missing or does not
 * parse changes nothing (a broken mount must not lock everyone out).
 */
@Singleton
@Requires(property = "quiver.auth.keys-file")
@Requires(property = "quiver.jobs.scheduler.enabled", notEquals = "false")
public class DeclaredApiKeys {
    private static final Logger LOG = LoggerFactory.getLogger(DeclaredApiKeys.class);

    private final WatchedFile file;
    private final ApiKeyService keys;
    private String appliedSha256;
    private String lastProblem;

    public DeclaredApiKeys(@Value("${quiver.auth.keys-file}") String path, ApiKeyService keys) {
        this.file = new WatchedFile(Path.of(path));
        this.keys = keys;
    }

    @EventListener
    public void onStartup(StartupEvent event) {
        poll();
    }

    /**
     * Provisions the file's keys and revokes the declared keys it no longer has, if its content changed since the
     * last time; returns how many keys were added.
     */
    @Scheduled(fixedDelay = "${quiver.declared.poll-interval:5s}", initialDelay = "${quiver.declared.poll-interval:5s}")
    public synchronized int poll() {
        Optional<WatchedFile.Content> content;
        try {
            content = file.read();
        } catch (IOException e) {
            problem("cannot read the API keys file " + file.path() + ": " + e.getMessage());
            return 0;
        }
        if (content.isEmpty()) {
            problem("the API keys file " + file.path() + " does not exist; no keys are provisioned from it");
            return 0;
        }
        if (content.get().sha256().equals(appliedSha256)) {
            return 0;
        }
        int added = 0;
        int failed = 0;
        try {
            List<ApiKeysFile.Entry> entries = ApiKeysFile.parse(content.get().text(), file.path().toString());
            // every key the file names stays, even one refused below: a typo elsewhere must not revoke it
            Set<String> declared = new HashSet<>();
            for (ApiKeysFile.Entry e : entries) {
                declared.add(Hashes.sha256(e.key()));
                try {
                    added += provision(e) ? 1 : 0;
                } catch (IllegalArgumentException ex) {
                    failed++;
                    LOG.error("cannot provision API key '{}' from {}: {}", e.name(), file.path(), ex.getMessage());
                }
            }
            for (KeyView k : keys.revokeDeclaredExcept(declared)) {
                LOG.info("revoked API key {} ('{}' of project '{}'): it is no longer in {}", k.id(), k.name(),
                        k.project(), file.path());
            }
        } catch (DeclaredFileException e) {
            problem(e.getMessage() + "; no keys are provisioned from it until it is fixed");
            return 0;
        } catch (RuntimeException e) {
            LOG.warn("cannot provision the API keys of {} now (will retry): {}", file.path(), e.getMessage());
            return added;
        }
        appliedSha256 = content.get().sha256();
        lastProblem = null;
        if (failed == 0) {
            LOG.info("API keys file {} applied: {} key(s) added", file.path(), added);
        }
        return added;
    }

    private boolean provision(ApiKeysFile.Entry e) {
        switch (keys.ensure(e.project(), e.name(), e.key(), e.admin())) {
            case ADDED -> {
                LOG.info("provisioned API key '{}' of project '{}' from {}", e.name(), e.project(), file.path());
                return true;
            }
            case UPDATED -> LOG.info("API key '{}' of project '{}' is now declared by {} (admin: {})", e.name(),
                    e.project(), file.path(), e.admin());
            case REVOKED -> LOG.warn("API key '{}' in {} was revoked and stays revoked; put a new key in the file",
                    e.name(), file.path());
            case UNCHANGED -> {
            }
        }
        return false;
    }

    private void problem(String message) {
        if (!message.equals(lastProblem)) {
            LOG.error(message);
            lastProblem = message;
        }
    }
}
