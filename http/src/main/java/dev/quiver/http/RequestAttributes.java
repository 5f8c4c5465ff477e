package dev.quiver.http;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;

/** What the auth filter tells both tiers' controllers about a request, and the header the tiers call each other with. */
public final class RequestAttributes {
    /** The caller's project id; absent when no auth filter runs (serving alone in tests). */
    public static final String PROJECT = "quiver.project";
    /** {@code true} when the caller is the other tier, authenticated with the internal token. */
    public static final String INTERNAL = "quiver.internal";
    /** The header by which the other tier, holding the internal token, names the project it acts for. */
    public static final String PROJECT_HEADER = "X-Quiver-Project";

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
