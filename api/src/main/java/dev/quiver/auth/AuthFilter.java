package dev.quiver.auth;

import dev.quiver.http.ErrorBody;
import dev.quiver.http.RequestAttributes;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.Optional;

/**
 * Resolves the caller's project for every API route: from a Quiver key ({@code Authorization: Bearer qk-...}),
 * or, for the other tier holding the internal token, from {@code X-Quiver-Project}. Keys are mandatory
 * whenever the server listens beyond loopback; on loopback a request without a Quiver key acts in the
 * default project, as the operator. {@code /v1/admin/**} needs an admin key (or that loopback operator).
 */
@ServerFilter({"/v1/**", "/mcp", "/mcp/**"})
public class AuthFilter {
    /** Request attribute holding the caller's project id. */
    public static final String PROJECT = RequestAttributes.PROJECT;
    /** Request attribute: {@code true} when the caller may use the admin API. */
    public static final String ADMIN = "quiver.admin";
    private static final String PROJECT_HEADER = RequestAttributes.PROJECT_HEADER;
    private static final String ADMIN_PATH = "/v1/admin/";

    private final ApiKeyService keys;
    private final InternalToken internalToken;
    private final boolean required;

    public AuthFilter(ApiKeyService keys, InternalToken internalToken, AuthMode mode) {
        this.keys = keys;
        this.internalToken = internalToken;
        this.required = mode.required();
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
            return actAs(request, Project.DEFAULT_ID, true);
        }
        String value = header.get();
        if (!value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return unauthorized("Authorization header must be 'Bearer <key>'.");
        }
        String credential = value.substring(7).trim();
        if (internalToken.matches(credential)) {
            return actForNamedProject(request);
        }
        if (!required && !ApiKeyService.looksLikeKey(credential)) {
            // SDKs always send some key (the OpenAI SDK refuses to run without one); like vLLM and Ollama,
            // a keyless loopback server ignores what is not one of its own keys
            return actAs(request, Project.DEFAULT_ID, true);
        }
        Optional<ApiKeyService.Caller> caller = keys.authenticate(credential);
        if (caller.isEmpty()) {
            return unauthorized("Incorrect API key provided, or the key was revoked.");
        }
        return actAs(request, caller.get().projectId(), caller.get().admin());
    }

    /** The other tier acts for a tenant: the project is the one it names, which must exist. */
    private MutableHttpResponse<?> actForNamedProject(HttpRequest<?> request) {
        request.setAttribute(RequestAttributes.INTERNAL, true);
        String project = request.getHeaders().get(PROJECT_HEADER);
        if (project == null || project.isBlank()) {
            return actAs(request, Project.DEFAULT_ID, false);
        }
        if (!ApiKeyService.isProjectId(project)) {
            return HttpResponse.<ErrorBody>status(HttpStatus.BAD_REQUEST).body(ErrorBody.of(PROJECT_HEADER
                    + " must be a project id: 1-60 letters, digits, '-' or '_'.", "invalid_request_error",
                    PROJECT_HEADER, "invalid_project"));
        }
        if (!keys.projectExists(project)) {
            return HttpResponse.<ErrorBody>status(HttpStatus.FORBIDDEN).body(ErrorBody.of("Project '" + project
                    + "' named by " + PROJECT_HEADER + " does not exist; check that both tiers use the same"
                    + " database.", "permission_error", PROJECT_HEADER, "project_not_found"));
        }
        return actAs(request, project, false);
    }

    @Nullable
    private static MutableHttpResponse<?> actAs(HttpRequest<?> request, String project, boolean admin) {
        if (request.getPath().startsWith(ADMIN_PATH) && !admin) {
            return HttpResponse.<ErrorBody>status(HttpStatus.FORBIDDEN).body(ErrorBody.of("The admin API needs an"
                    + " admin key; this key acts only in project '" + project + "'. An operator creates one with"
                    + " `quiver keys create --admin` or declares one with admin: true in the chart's apiKeys.",
                    "permission_error", null, "admin_key_required"));
        }
        request.setAttribute(PROJECT, project);
        request.setAttribute(ADMIN, admin);
        return null; // go on to the route
    }

    private static MutableHttpResponse<ErrorBody> unauthorized(String message) {
        return HttpResponse.<ErrorBody>status(HttpStatus.UNAUTHORIZED)
                .body(ErrorBody.of(message, "invalid_request_error", null, "invalid_api_key"));
    }
}
