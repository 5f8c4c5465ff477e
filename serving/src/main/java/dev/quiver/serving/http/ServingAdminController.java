package dev.quiver.serving.http;

import dev.quiver.http.ApiException;
import dev.quiver.http.RequestAttributes;
import dev.quiver.serving.ServingLimits;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;

/**
 * {@code /v1/serving}: the small adapter-admin API (in the spirit of vLLM's {@code /v1/load_lora_adapter})
 * through which a control plane running apart reaches this replica. Limits are public to any caller;
 * resolving loads an adapter of the caller's own project; pinning takes a slot for good, so only the other
 * tier (the internal token) may do it.
 */
@Controller("/v1/serving")
@Requires(beans = LocalServing.class)
@ExecuteOn(TaskExecutors.BLOCKING)
public class ServingAdminController {
    /** {@code {"model": ...}}: an adapter name, {@code name@version}, or the base model. */
    @Serdeable
    public record ResolveRequest(@Nullable String model) {
    }

    /** The engine's id of an adapter (null for the base model). */
    @Serdeable
    public record AdapterId(@Nullable String id) {
    }

    private final LocalServing serving;

    public ServingAdminController(LocalServing serving) {
        this.serving = serving;
    }

    @Get("/limits")
    public ServingLimits limits() {
        return serving.limits();
    }

    @Post("/adapters/resolve")
    public AdapterId resolve(HttpRequest<?> request, @Body ResolveRequest body) {
        return new AdapterId(serving.resolve(body.model(), RequestAttributes.project(request)));
    }

    @Post("/adapters/pin")
    public AdapterId pin(HttpRequest<?> request, @Body AdapterId body) {
        serving.pin(internalId(request, body));
        return body;
    }

    @Post("/adapters/unpin")
    public AdapterId unpin(HttpRequest<?> request, @Body AdapterId body) {
        serving.unpin(internalId(request, body));
        return body;
    }

    private static String internalId(HttpRequest<?> request, AdapterId body) {
        if (!RequestAttributes.internal(request)) {
            throw new ApiException(HttpStatus.FORBIDDEN, "permission_error", "pinning adapters is for the control"
                    + " plane only (it authenticates with the deployment's internal token)", null, "forbidden");
        }
        if (body.id() == null || body.id().isBlank()) {
            throw ApiException.invalid("id", "id is required: the adapter id that /v1/serving/adapters/resolve returned");
        }
        return body.id();
    }
}
