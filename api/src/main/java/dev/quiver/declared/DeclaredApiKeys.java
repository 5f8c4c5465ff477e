package dev.quiver.declared;

import dev.quiver.auth.ApiKeyService;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provisions the API keys of the keys file ({@code quiver.auth.keys-file}, the chart's Secret) in the
 * control plane: stored hashed, at start and whenever the file's content changes. Keys are only added;
 * one removed from the file stays valid until revoked.
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

    /** Provisions the file's keys if its content changed since the last time; returns how many were added. */
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
            for (ApiKeysFile.Entry e : ApiKeysFile.parse(content.get().text(), file.path().toString())) {
                try {
                    if (keys.ensure(e.project(), e.name(), e.key())) {
                        added++;
                        LOG.info("provisioned API key '{}' of project '{}' from {}", e.name(), e.project(), file.path());
                    }
                } catch (IllegalArgumentException ex) {
                    failed++;
                    LOG.error("cannot provision API key '{}' from {}: {}", e.name(), file.path(), ex.getMessage());
                }
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

    private void problem(String message) {
        if (!message.equals(lastProblem)) {
            LOG.error(message);
            lastProblem = message;
        }
    }
}
