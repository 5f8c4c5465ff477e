package dev.quiver.serving.http;

import dev.quiver.http.ListView;
import dev.quiver.http.RequestAttributes;
import dev.quiver.http.ApiException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.ArrayList;
import java.util.List;

/** {@code GET /v1/models}: the base model and every adapter the caller may use, each with its parent. */
@Controller("/v1/models")
@Requires(beans = ServingEngine.class)
@ExecuteOn(TaskExecutors.BLOCKING)
public class ModelsController {
    private final ServingEngine serving;

    public ModelsController(ServingEngine serving) {
        this.serving = serving;
    }

    /** OpenAI's model object, with vLLM's {@code parent} and {@code root} for adapters. */
    @Serdeable
    public record ModelView(String id, String object, long created, String ownedBy, String root, String parent,
                            Integer maxModelLen) {
    }

    @Get
    public ListView<ModelView> list(HttpRequest<?> request) {
        List<ModelView> models = new ArrayList<>();
        String base = serving.base().name();
        models.add(new ModelView(base, "model", 0, "quiver", base, null, serving.maxSequenceLength()));
        for (AdapterSource.Entry e : serving.adapters(project(request))) {
            models.add(new ModelView(e.model(), "model", e.created(), "quiver", base, base,
                    serving.maxSequenceLength()));
        }
        return ListView.of(models, false);
    }

    @Get("/{id}")
    public ModelView get(HttpRequest<?> request, @PathVariable String id) {
        return list(request).data().stream().filter(m -> m.id().equals(id)).findFirst()
                .orElseThrow(() -> new ApiException(io.micronaut.http.HttpStatus.NOT_FOUND, "invalid_request_error",
                        "The model '" + id + "' does not exist", "model", "model_not_found"));
    }

    private static String project(HttpRequest<?> request) {
        return RequestAttributes.project(request);
    }
}
