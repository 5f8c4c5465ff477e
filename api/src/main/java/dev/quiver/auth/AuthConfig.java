package dev.quiver.auth;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/**
 * {@code quiver.auth.required}: whether requests need a Bearer key. Unset means "required unless
 * the server listens on loopback only".
 */
@ConfigurationProperties("quiver.auth")
public record AuthConfig(@Bindable(defaultValue = "") String required) {
}
