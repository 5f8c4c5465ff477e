package dev.quiver.auth;

import dev.quiver.server.Hashes;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

/**
 * {@code quiver.metrics.token} (env {@code QUIVER_METRICS_TOKEN}): the Bearer token a Prometheus scraper presents
 * for {@code /prometheus}, so that scraping needs no admin key. Unset means only admin keys may scrape.
 */
@Singleton
public class MetricsToken {
    // only the hash is kept, so a heap dump or a toString never shows the token itself
    private final String hash;

    public MetricsToken(@Value("${quiver.metrics.token:}") String token) {
        this.hash = token == null || token.isBlank() ? null : Hashes.sha256(token.trim());
    }

    /** Whether {@code presented} is the configured token (constant-time); always false when none is set. */
    public boolean matches(String presented) {
        return hash != null && Hashes.matches(presented, hash);
    }
}
