package dev.quiver.auth;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;

/**
 * An API key as the admin API shows it: never the key, only its first characters; times in Unix seconds,
 * {@code last_used_at} to the minute. {@code key} is set once, in the answer to create.
 */
@Serdeable
public record KeyView(String id, String object, String project, String name, String prefix, boolean admin,
                      boolean declared, boolean revoked, long createdAt, @Nullable Long lastUsedAt,
                      @Nullable Long revokedAt, @Nullable String key) {

    static KeyView of(ApiKey k) {
        return new KeyView(k.getId(), "api_key", k.getProjectId(), k.getName(), k.getKeyPrefix(), k.isAdmin(),
                k.isDeclared(), k.isRevoked(), k.getCreatedAt().getEpochSecond(), seconds(k.getLastUsedAt()),
                seconds(k.getRevokedAt()), null);
    }

    /** This view with the clear key, for the one answer to a create. */
    public KeyView withKey(String clearKey) {
        return new KeyView(id, object, project, name, prefix, admin, declared, revoked, createdAt, lastUsedAt,
                revokedAt, clearKey);
    }

    private static Long seconds(Instant t) {
        return t == null ? null : t.getEpochSecond();
    }
}
