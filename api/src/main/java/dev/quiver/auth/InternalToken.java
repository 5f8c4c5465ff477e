package dev.quiver.auth;

import dev.quiver.server.Hashes;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

/**
 * {@code quiver.internal-token}: the secret the control plane and the serving tier share, so that one tier
 * can call the other on behalf of a tenant's project. Unset means no caller is trusted that way.
 */
@Singleton
public class InternalToken {
    // only the hash is kept, so a heap dump or a toString never shows the token itself
    private final String hash;

    public InternalToken(@Value("${quiver.internal-token:}") String token) {
        this.hash = token == null || token.isBlank() ? null : Hashes.sha256(token.trim());
    }

    /** Whether {@code presented} is the configured token (constant-time); always false when none is set. */
    public boolean matches(String presented) {
        return hash != null && Hashes.matches(presented, hash);
    }
}
