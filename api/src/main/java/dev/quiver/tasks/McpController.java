package dev.quiver.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.auth.AuthFilter;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.modelcontextprotocol.spec.McpSchema;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /mcp}: MCP's streamable HTTP transport, stateless. Each POST carries one JSON-RPC message: a
 * request is answered with its JSON response, a notification with 202. There is no session and no server
 * stream, so GET and DELETE are 405. Authentication is the API's Bearer key ({@link AuthFilter}); the key's
 * project decides which tasks are tools. Browsers send an {@code Origin}: as MCP asks, such requests are
 * refused unless the origin is listed in {@code quiver.mcp.allowed-origins} (agents send none), so a web
 * page cannot reach a loopback server through DNS rebinding.
 */
@Tag(name = "tasks")
@Controller("/mcp")
@ExecuteOn(TaskExecutors.BLOCKING)
public class McpController {
    private static final Logger LOG = LoggerFactory.getLogger(McpController.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version";

    private final TaskToolServer server;
    private final List<String> allowedOrigins;

    public McpController(TaskToolServer server,
                         @Value("${quiver.mcp.allowed-origins:}") List<String> allowedOrigins) {
        this.server = server;
        this.allowedOrigins = allowedOrigins.stream().map(String::strip).filter(o -> !o.isEmpty()).toList();
    }

    @Post(consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    public HttpResponse<String> message(HttpRequest<?> request, @RequestAttribute(AuthFilter.PROJECT) String project,
                                        @Nullable @Body String body) {
        String origin = request.getHeaders().get(HttpHeaders.ORIGIN);
        if (origin != null && !allowedOrigins.contains(origin)) {
            return error(HttpStatus.FORBIDDEN, McpSchema.ErrorCodes.INVALID_REQUEST, "Origin " + origin
                    + " is not allowed; list it in quiver.mcp.allowed-origins to call this server from a browser");
        }
        String version = request.getHeaders().get(PROTOCOL_VERSION_HEADER);
        if (version != null && !server.protocolVersions().contains(version)) {
            return error(HttpStatus.BAD_REQUEST, McpSchema.ErrorCodes.INVALID_REQUEST, "Unsupported "
                    + PROTOCOL_VERSION_HEADER + " " + version + "; this server speaks " + server.protocolVersions());
        }
        if (body != null && body.stripLeading().startsWith("[")) {
            return error(HttpStatus.BAD_REQUEST, McpSchema.ErrorCodes.INVALID_REQUEST,
                    "JSON-RPC batches are not supported; send one message per request");
        }
        McpSchema.JSONRPCMessage message;
        try {
            message = McpSchema.deserializeJsonRpcMessage(server.mapper(), body == null ? "" : body);
        } catch (IOException | IllegalArgumentException e) {
            return error(HttpStatus.BAD_REQUEST, McpSchema.ErrorCodes.PARSE_ERROR,
                    "not a JSON-RPC 2.0 message: " + e.getMessage());
        }
        try {
            if (message instanceof McpSchema.JSONRPCRequest call) {
                McpSchema.JSONRPCResponse response = server.handle(project, call);
                return HttpResponse.ok(server.mapper().writeValueAsString(response))
                        .contentType(MediaType.APPLICATION_JSON_TYPE);
            }
            if (message instanceof McpSchema.JSONRPCNotification notification) {
                server.handle(project, notification);
                return HttpResponse.accepted();
            }
            return error(HttpStatus.BAD_REQUEST, McpSchema.ErrorCodes.INVALID_REQUEST,
                    "this server sends no requests, so it takes no responses; send requests or notifications");
        } catch (IOException | RuntimeException e) {
            LOG.warn("MCP message failed: {}", e.getMessage(), e);
            return error(HttpStatus.INTERNAL_SERVER_ERROR, McpSchema.ErrorCodes.INTERNAL_ERROR,
                    "The server had an error while processing the message.");
        }
    }

    /** No server-to-client stream: every answer comes back on its POST. */
    @Get
    public HttpResponse<String> stream() {
        return notAllowed();
    }

    /** No sessions to end. */
    @Delete
    public HttpResponse<String> endSession() {
        return notAllowed();
    }

    private static HttpResponse<String> notAllowed() {
        return HttpResponse.<String>status(HttpStatus.METHOD_NOT_ALLOWED).header(HttpHeaders.ALLOW, "POST");
    }

    private static HttpResponse<String> error(HttpStatus status, int code, String message) {
        ObjectNode body = JSON.createObjectNode().put("jsonrpc", McpSchema.JSONRPC_VERSION).putNull("id");
        body.putObject("error").put("code", code).put("message", message);
        return HttpResponse.<String>status(status).body(body.toString()).contentType(MediaType.APPLICATION_JSON_TYPE);
    }
}
