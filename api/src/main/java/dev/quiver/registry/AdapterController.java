package dev.quiver.registry;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ApiException;
import dev.quiver.http.ListView;
import dev.quiver.http.PageLimit;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Part;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.http.server.types.files.StreamedFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;

/** {@code /v1/adapters}: the adapter registry (list, get, import a PEFT upload, download, delete). */
@Tag(name = "adapters")
@Controller("/v1/adapters")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AdapterController {
    private final AdapterService service;

    public AdapterController(AdapterService service) {
        this.service = service;
    }

    /** One registered adapter version. */
    @Serdeable
    public record AdapterView(String id, String object, String name, int version, String baseModel, int rank,
                              double alpha, List<String> targetModules, String sha256, long bytes,
                              String sourceJob, long createdAt) {
        static AdapterView of(AdapterRecord r) {
            return new AdapterView(r.getId(), "adapter", r.getName(), r.getVersion(), r.getBaseModel(),
                    r.getLoraRank(), r.getAlpha(), Arrays.asList(r.getTargetModules().split(",")), r.getSha256(),
                    r.getBytes(), r.getSourceJob(), r.getCreatedAt().getEpochSecond());
        }
    }

    /** Deletion result. */
    @Serdeable
    public record Deleted(String id, String object, String name, int version, boolean deleted) {
    }

    @Get
    public ListView<AdapterView> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                      @Nullable @QueryValue Integer limit) {
        return PageLimit.WHOLE_LIST.page(service.list(project).stream().map(AdapterView::of).toList(), limit);
    }

    /** {@code name}, {@code name@version}; names may contain ':' (fine-tuned model names do). */
    @Get("/{ref}")
    public AdapterView get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String ref) {
        return AdapterView.of(service.get(project, ref));
    }

    @Post
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public HttpResponse<AdapterView> importAdapter(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                   @Part("name") String name,
                                                   @Part("adapter_config") CompletedFileUpload config,
                                                   @Part("adapter_model") CompletedFileUpload weights)
            throws IOException {
        if (config == null || weights == null) {
            throw ApiException.invalid("adapter_config", "upload both parts: adapter_config (adapter_config.json)"
                    + " and adapter_model (adapter_model.safetensors)");
        }
        try (InputStream c = config.getInputStream(); InputStream w = weights.getInputStream()) {
            return HttpResponse.created(AdapterView.of(service.importUpload(project, name, c, w)));
        }
    }

    @Get(value = "/{ref}/content", produces = "application/zip")
    public StreamedFile download(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String ref) {
        AdapterRecord record = service.get(project, ref);
        return new StreamedFile(service.zip(record), MediaType.of("application/zip"))
                .attach(record.getName().replace(':', '_') + "-v" + record.getVersion() + ".zip");
    }

    @Delete("/{ref}")
    public Deleted delete(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String ref) {
        AdapterRecord r = service.delete(project, ref);
        return new Deleted(r.getId(), "adapter", r.getName(), r.getVersion(), true);
    }
}
