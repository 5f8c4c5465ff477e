package dev.quiver.auth;

import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Whether callers must present a credential: {@code quiver.auth.required} when set, otherwise whenever the
 * server listens beyond loopback. A loopback-only server trusts its local user as the operator.
 */
@Singleton
public class AuthMode {
    private final boolean required;

    public AuthMode(AuthConfig config, @Value("${micronaut.server.host:}") String host) {
        this.required = config.required().isBlank() ? !isLoopback(host) : Boolean.parseBoolean(config.required());
    }

    /** Whether every API, admin and metrics request needs a credential. */
    public boolean required() {
        return required;
    }

    static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) {
            return false; // Netty binds every interface when no host is set
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
