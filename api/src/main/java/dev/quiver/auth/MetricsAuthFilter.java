package dev.quiver.auth;

import dev.quiver.http.ErrorBody;
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
 * Guards {@code /prometheus}, whose series name every project and task: wherever keys are required, a scrape
 * needs the metrics token or an admin key. A loopback-only server keeps it open, like its other APIs.
 */
@ServerFilter({"/prometheus", "/prometheus/**"})
public class MetricsAuthFilter {
    private final ApiKeyService keys;
    private final MetricsToken metricsToken;
    private final boolean required;

    public MetricsAuthFilter(ApiKeyService keys, MetricsToken metricsToken, AuthMode mode) {
        this.keys = keys;
        this.metricsToken = metricsToken;
        this.required = mode.required();
    }

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public MutableHttpResponse<?> authorize(HttpRequest<?> request) {
        if (!required) {
            return null;
        }
        Optional<String> header = request.getHeaders().getAuthorization();
        if (header.isEmpty() || !header.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return refuse(HttpStatus.UNAUTHORIZED, "Metrics need 'Authorization: Bearer <token>' with the metrics"
                    + " token (quiver.metrics.token, env QUIVER_METRICS_TOKEN) or an admin key.");
        }
        String credential = header.get().substring(7).trim();
        if (metricsToken.matches(credential)) {
            return null;
        }
        Optional<ApiKeyService.Caller> caller = ApiKeyService.looksLikeKey(credential)
                ? keys.authenticate(credential) : Optional.empty();
        if (caller.isEmpty()) {
            return refuse(HttpStatus.UNAUTHORIZED, "Incorrect metrics token or API key.");
        }
        if (!caller.get().admin()) {
            return refuse(HttpStatus.FORBIDDEN, "Metrics show every project; a tenant key cannot read them. Use"
                    + " the metrics token or an admin key.");
        }
        return null;
    }

    private static MutableHttpResponse<ErrorBody> refuse(HttpStatus status, String message) {
        return HttpResponse.<ErrorBody>status(status).body(ErrorBody.of(message,
                status == HttpStatus.FORBIDDEN ? "permission_error" : "invalid_request_error", null,
                status == HttpStatus.FORBIDDEN ? "admin_key_required" : "invalid_api_key"));
    }
}
