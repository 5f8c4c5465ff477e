package dev.quiver.console;

import dev.quiver.http.ApiException;
import io.micronaut.core.io.ResourceResolver;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.server.types.files.StreamedFile;
import io.swagger.v3.oas.annotations.Hidden;
import java.net.URL;

/**
 * The web console's entry points: the single page at {@code /}, the API explorer at {@code /docs} and the
 * generated OpenAPI document at {@code /openapi.yml}. Scripts, styles and WebJars are static resources
 * ({@code /console/**}, {@code /webjars/**}); all of it is public, like the page of any login form, since
 * the data comes from {@code /v1/**} with the caller's key.
 */
@Hidden
@Controller
public class ConsoleController {
    static final String DOCUMENT = "classpath:META-INF/swagger/quiver.yml";
    private static final MediaType YAML = MediaType.of("application/yaml");

    private final ResourceResolver resources;

    public ConsoleController(ResourceResolver resources) {
        this.resources = resources;
    }

    @Get(produces = MediaType.TEXT_HTML)
    public HttpResponse<StreamedFile> console() {
        return page("classpath:console/index.html", MediaType.TEXT_HTML_TYPE);
    }

    @Get(value = "/docs", produces = MediaType.TEXT_HTML)
    public HttpResponse<StreamedFile> docs() {
        return page("classpath:console/docs.html", MediaType.TEXT_HTML_TYPE);
    }

    @Get(value = "/openapi.yml", produces = "application/yaml")
    public HttpResponse<StreamedFile> openApi() {
        return page(DOCUMENT, YAML);
    }

    private HttpResponse<StreamedFile> page(String path, MediaType type) {
        URL url = resources.getResource(path).orElseThrow(() -> new ApiException(HttpStatus.NOT_FOUND,
                "invalid_request_error", path.substring("classpath:".length()) + " is missing from the build", null,
                "not_found"));
        // the pages change with every release; revalidating costs one small request
        return HttpResponse.ok(new StreamedFile(url)).contentType(type).header("Cache-Control", "no-cache");
    }
}
