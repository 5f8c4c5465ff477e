package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.capture.Upstream;
import dev.quiver.capture.UpstreamChat;
import dev.quiver.capture.UpstreamService;
import dev.quiver.http.ApiException;
import dev.quiver.serving.Serving;
import dev.quiver.tasks.Task;
import io.micronaut.context.BeanProvider;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;

/**
 * Runs one chat completion for an eval on the model it names: {@code upstream} (the task's upstream, with
 * its key) or a model of the serving tier (the base, or an adapter as the project sees it).
 */
@Singleton
public class ModelCaller {
    /** The model name that means the task's upstream. */
    public static final String UPSTREAM = "upstream";

    private final BeanProvider<Serving> serving;
    private final UpstreamService upstreams;
    private final UpstreamChat upstreamChat;

    public ModelCaller(BeanProvider<Serving> serving, UpstreamService upstreams, UpstreamChat upstreamChat) {
        this.serving = serving;
        this.upstreams = upstreams;
        this.upstreamChat = upstreamChat;
    }

    /** Checks that {@code model} can be called for {@code task}; a 400 naming {@code model} otherwise. */
    public void requireCallable(Task task, String model) {
        if (model.equals(UPSTREAM)) {
            if (upstreams.find(task).isEmpty()) {
                throw ApiException.invalid("model", "task '" + task.getName() + "' has no upstream to evaluate; set"
                        + " one with PUT /v1/tasks/" + task.getName() + "/upstream");
            }
            return;
        }
        try {
            serving().resolve(model, task.getProjectId());
        } catch (ApiException e) {
            throw ApiException.invalid("model", "model '" + model + "' is not served for this project: give the"
                    + " base model, an adapter (name or name@version, GET /v1/models lists them) or \"upstream\"");
        }
    }

    /** The chat completion response of {@code model} for {@code body} (model is set here). */
    public JsonNode chat(Task task, String model, ObjectNode body) {
        if (!model.equals(UPSTREAM)) {
            body.put("model", model);
            return serving().complete(Serving.Endpoint.CHAT, body, task.getProjectId());
        }
        Upstream upstream = upstreams.find(task).orElseThrow(() -> new IllegalStateException("task '"
                + task.getName() + "' lost its upstream during the eval"));
        return upstreamChat.complete(task, upstream, body);
    }

    private Serving serving() {
        if (!serving.isPresent()) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", "this control plane has no serving"
                    + " tier to evaluate on (quiver.serving.url)", null, "serving_unavailable");
        }
        return serving.get();
    }
}
