package dev.quiver.auth;

import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.inject.Singleton;

/** Creates the default project at start-up, so keyless loopback requests have an owner. */
@Singleton
public class DefaultProjectInitializer {
    private final ApiKeyService keys;

    public DefaultProjectInitializer(ApiKeyService keys) {
        this.keys = keys;
    }

    @EventListener
    public void onStartup(StartupEvent event) {
        keys.ensureDefaultProject();
    }
}
