package dev.quiver.http;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;

/** The request attributes the control plane's auth filter sets and both tiers' controllers read. */
public final class RequestAttributes {
    /** The caller's project id; absent when no auth filter runs (serving alone in tests). */
    public static final String PROJECT = "quiver.project";
    /** {@code true} when the caller is the other tier, authenticated with the internal token. */
    public static final String INTERNAL = "quiver.internal";

    private RequestAttributes() {
    }

    @Nullable
    public static String project(HttpRequest<?> request) {
        return request.getAttribute(PROJECT, String.class).orElse(null);
    }

    public static boolean internal(HttpRequest<?> request) {
        return request.getAttribute(INTERNAL, Boolean.class).orElse(false);
    }
}
