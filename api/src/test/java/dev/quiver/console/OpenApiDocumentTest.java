package dev.quiver.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document the build generates from the controllers (plus serving's hand-written part) parses
 * without a message, covers the README's API table, keeps internal routes out, and names its schemas.
 */
class OpenApiDocumentTest {

    private static OpenAPI document() throws Exception {
        try (var in = OpenApiDocumentTest.class.getResourceAsStream("/META-INF/swagger/quiver.yml")) {
            assertThat(in).as("META-INF/swagger/quiver.yml from the OpenAPI processor").isNotNull();
            ParseOptions options = new ParseOptions();
            options.setResolve(true);
            SwaggerParseResult result = new OpenAPIV3Parser().readContents(
                    new String(in.readAllBytes(), StandardCharsets.UTF_8), null, options);
            assertThat(result.getMessages()).as("parser messages").isEmpty();
            return result.getOpenAPI();
        }
    }

    @Test
    void documentsEveryEndpointOfTheReadmeAndNoInternalOne() throws Exception {
        OpenAPI api = document();
        assertThat(api.getOpenapi()).startsWith("3.");
        List<String> paths = List.copyOf(api.getPaths().keySet());
        for (ConsoleBrowserTest.ReadmeEndpoint endpoint : ConsoleBrowserTest.readmeEndpoints()) {
            assertThat(paths).as(endpoint.toString()).anyMatch(endpoint::matches);
        }
        assertThat(paths).contains("/v1/admin/keys", "/v1/serving/limits")
                .noneMatch(p -> p.startsWith("/v1/internal/"))
                .doesNotContain("/", "/docs", "/openapi.yml");
        assertThat(api.getComponents().getSecuritySchemes()).containsKey("apiKey");
    }

    @Test
    void namesTheJsonSchemasOfRequestsAndResponses() throws Exception {
        OpenAPI api = document();
        assertThat(api.getComponents().getSchemas()).containsKeys("FileView", "ChatCompletionRequest",
                "ChatCompletion", "TaskCreate", "TaskInvocation", "ServingLimits", "Error");
        List<String> unnamed = new ArrayList<>();
        api.getPaths().forEach((path, item) -> item.readOperationsMap().forEach((method, op) -> {
            jsonBody(op.getRequestBody() == null ? null : op.getRequestBody().getContent())
                    .filter(m -> m.getSchema().get$ref() == null)
                    .ifPresent(m -> unnamed.add(method + " " + path + " request"));
            var ok = op.getResponses().get("200");
            if (ok != null) {
                jsonBody(ok.getContent()).filter(m -> m.getSchema().get$ref() == null && !isString(m))
                        .ifPresent(m -> unnamed.add(method + " " + path + " response"));
            }
        }));
        assertThat(unnamed).as("JSON bodies without a named schema").isEmpty();
        Operation invoke = api.getPaths().get("/v1/tasks/{name}/invoke").getPost();
        assertThat(invoke.getRequestBody().getContent().get("application/json").getSchema().get$ref())
                .endsWith("TaskInvocation");
    }

    private static java.util.Optional<MediaType> jsonBody(Map<String, MediaType> content) {
        return content == null ? java.util.Optional.empty()
                : java.util.Optional.ofNullable(content.get("application/json")).filter(m -> m.getSchema() != null);
    }

    private static boolean isString(MediaType m) {
        return "string".equals(m.getSchema().getType());
    }
}
