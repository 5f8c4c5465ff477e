package dev.quiver.auth;

import dev.quiver.http.ApiException;
import dev.quiver.http.ListView;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /v1/admin/keys}: create (the key is in that one answer), list and revoke API keys of every project.
 * {@link AuthFilter} lets only admin keys (or the loopback operator) reach it.
 */
@Tag(name = "admin")
@Controller("/v1/admin/keys")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AdminKeysController {
    private static final Logger LOG = LoggerFactory.getLogger(AdminKeysController.class);

    private final ApiKeyService keys;

    public AdminKeysController(ApiKeyService keys) {
        this.keys = keys;
    }

    /** The body of a create: the project (created if new), a label, and whether the key is an admin key. */
    @Serdeable
    public record CreateKeyCommand(@Nullable String project, @Nullable String name, @Nullable Boolean admin) {
    }

    @Get
    public ListView<KeyView> list(HttpRequest<?> request, @Nullable @QueryValue String project) {
        requireAdmin(request);
        return ListView.of(keys.list(project), false);
    }

    @Post
    public HttpResponse<KeyView> create(HttpRequest<?> request,
                                        @RequestAttribute(AuthFilter.PROJECT) String callerProject,
                                        @Body CreateKeyCommand command) {
        requireAdmin(request);
        if (command.project() == null || command.project().isBlank()) {
            throw ApiException.invalid("project", "project is required: the project the key acts in (created if"
                    + " new), 1-60 letters, digits, '-' or '_'");
        }
        ApiKeyService.CreatedKey created;
        try {
            created = keys.create(command.project(), command.name() == null ? "admin-api" : command.name(),
                    Boolean.TRUE.equals(command.admin()));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage().startsWith("project") ? "project" : "name", e.getMessage());
        }
        LOG.info("API key {} ({}admin) created for project '{}' by a caller of project '{}'", created.id(),
                created.view().admin() ? "" : "not ", created.projectId(), callerProject);
        return HttpResponse.created(created.view().withKey(created.key()),
                URI.create("/v1/admin/keys/" + created.id()));
    }

    @Get("/{id}")
    public KeyView get(HttpRequest<?> request, @PathVariable String id) {
        requireAdmin(request);
        return keys.find(id).orElseThrow(() -> ApiException.notFound("API key", id));
    }

    @Post("/{id}/revoke")
    public KeyView revoke(HttpRequest<?> request, @RequestAttribute(AuthFilter.PROJECT) String callerProject,
                          @PathVariable String id) {
        requireAdmin(request);
        KeyView revoked = keys.revoke(id).orElseThrow(() -> ApiException.notFound("API key", id));
        LOG.info("API key {} of project '{}' revoked by a caller of project '{}'", id, revoked.project(),
                callerProject);
        return revoked;
    }

    // AuthFilter refuses tenants by path already; this holds even if a spelling of the path ever slipped past it
    private static void requireAdmin(HttpRequest<?> request) {
        if (!request.getAttribute(AuthFilter.ADMIN, Boolean.class).orElse(false)) {
            throw new ApiException(HttpStatus.FORBIDDEN, "permission_error", "The admin API needs an admin key.",
                    null, "admin_key_required");
        }
    }
}
