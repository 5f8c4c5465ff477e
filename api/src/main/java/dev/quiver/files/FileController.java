package dev.quiver.files;

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

/** {@code /v1/files}: upload, list, get, delete and download training files (OpenAI-shaped). */
@Tag(name = "files")
@Controller("/v1/files")
@ExecuteOn(TaskExecutors.BLOCKING)
public class FileController {
    private final FileService service;

    public FileController(FileService service) {
        this.service = service;
    }

    /** Deletion result. */
    @Serdeable
    public record Deleted(String id, String object, boolean deleted) {
    }

    @Post
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public HttpResponse<FileView> upload(@RequestAttribute(AuthFilter.PROJECT) String project,
                                         @Part("file") CompletedFileUpload file, @Part("purpose") String purpose)
            throws IOException {
        if (file == null) {
            throw ApiException.invalid("file", "multipart part 'file' is required");
        }
        try (InputStream in = file.getInputStream()) {
            return HttpResponse.ok(FileView.of(service.upload(project, file.getFilename(), purpose, in)));
        }
    }

    @Get
    public ListView<FileView> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                   @Nullable @QueryValue Integer limit) {
        return PageLimit.WHOLE_LIST.page(service.list(project).stream().map(FileView::of).toList(), limit);
    }

    @Get("/{id}")
    public FileView get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id) {
        return FileView.of(service.get(project, id));
    }

    @Get(value = "/{id}/content", produces = MediaType.APPLICATION_OCTET_STREAM)
    public StreamedFile content(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id)
            throws IOException {
        StoredFile f = service.get(project, id);
        return new StreamedFile(service.open(f), MediaType.APPLICATION_OCTET_STREAM_TYPE).attach(f.getFilename());
    }

    @Delete("/{id}")
    public Deleted delete(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String id) {
        service.delete(project, id);
        return new Deleted(id, "file", true);
    }
}
