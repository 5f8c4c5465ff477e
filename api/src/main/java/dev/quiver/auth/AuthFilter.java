package dev.quiver.auth;

import dev.quiver.http.ErrorBody;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * Resolves the caller's project from {@code Authorization: Bearer <key>} for every API route. Keys are
 * mandatory whenever the server listens beyond loopback; on loopback a request without a key acts in
 * the default project.
 */
@ServerFilter({"/v1/**", "/mcp", "/mcp/**"})
public class AuthFilter {
    /** Request attribute holding the caller's project id. */
    public static final String PROJECT = "quiver.project";

    private final ApiKeyService keys;
    private final boolean required;

    public AuthFilter(ApiKeyService keys, AuthConfig config,
                      @Value("${micronaut.server.host:}") String host) {
        this.keys = keys;
        this.required = config.required().isBlank() ? !isLoopback(host) : Boolean.parseBoolean(config.required());
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

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public MutableHttpResponse<?> authenticate(HttpRequest<?> request) {
        if (request.getPath().startsWith("/v1/internal/")) {
            return null; // job runners authenticate with their per-job token in the controller
        }
        Optional<String> header = request.getHeaders().getAuthorization();
        if (header.isEmpty()) {
            if (required) {
                return unauthorized("Missing API key: send 'Authorization: Bearer <key>' (create one with"
                        + " `quiver keys create`).");
            }
            request.setAttribute(PROJECT, Project.DEFAULT_ID);
            return null;
        }
        String value = header.get();
        if (!value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return unauthorized("Authorization header must be 'Bearer <key>'.");
        }
        Optional<String> project = keys.projectOf(value.substring(7).trim());
        if (project.isEmpty()) {
            return unauthorized("Incorrect API key provided.");
        }
        request.setAttribute(PROJECT, project.get());
        return null;
    }

    private static MutableHttpResponse<ErrorBody> unauthorized(String message) {
        return HttpResponse.<ErrorBody>status(HttpStatus.UNAUTHORIZED)
                .body(ErrorBody.of(message, "invalid_request_error", null, "invalid_api_key"));
    }
}
