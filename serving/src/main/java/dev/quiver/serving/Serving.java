package dev.quiver.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.core.annotation.Nullable;
import org.reactivestreams.Publisher;

/**
 * The one front door to the serving tier for everything outside {@code serving}: tasks, MCP, declared
 * adapters and job validation. In-process in the all-in-one server ({@code LocalServing}); over HTTP
 * ({@code RemoteServing}: the OpenAI endpoints plus {@code /v1/serving/*}) when the control plane and the
 * serving replicas run apart. Bodies and answers are OpenAI's JSON, so both sides mean exactly what
 * {@code POST /v1/chat/completions} means; every refusal is the same {@code ApiException} the endpoint
 * would answer.
 */
public interface Serving {

    /** The two OpenAI generation endpoints. */
    enum Endpoint {
        CHAT("/v1/chat/completions"),
        COMPLETIONS("/v1/completions");

        private final String path;

        Endpoint(String path) {
            this.path = path;
        }

        public String path() {
            return path;
        }
    }

    /** What this serving tier can hold: a job whose adapter would not fit is refused before it trains. */
    ServingLimits limits();

    /**
     * Runs a non-streaming completion ({@code stream} must be false or absent) for {@code project} (null:
     * unauthenticated loopback) and returns OpenAI's response object.
     */
    JsonNode complete(Endpoint endpoint, ObjectNode body, @Nullable String project);

    /**
     * Runs a streaming completion: the publisher emits each server-sent event's data in order (JSON chunks,
     * then {@code [DONE]}). A request refused before it starts (bad field, 429, unknown model) throws the
     * ApiException at once, so that it can still be answered as an HTTP status.
     */
    Publisher<String> stream(Endpoint endpoint, ObjectNode body, @Nullable String project);

    /**
     * Resolves {@code model} (an adapter name, {@code name@version}, or the base) as {@code project} sees it,
     * and makes sure the adapter is registered with the engine (read once however many callers race); returns
     * the engine's adapter id, or null for the base model. Unknown models are a 404.
     */
    @Nullable
    String resolve(String model, @Nullable String project);

    /** Loads adapter {@code adapterId} (from {@link #resolve}) into a slot and keeps it there. */
    void pin(String adapterId);

    /** Lets adapter {@code adapterId} be evicted again. */
    void unpin(String adapterId);
}
