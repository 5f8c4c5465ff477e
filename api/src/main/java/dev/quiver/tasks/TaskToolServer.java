package dev.quiver.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.json.schema.jackson2.DefaultJsonSchemaValidator;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpStatelessServerFeatures;
import io.modelcontextprotocol.server.McpStatelessServerHandler;
import io.modelcontextprotocol.server.McpStatelessSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpStatelessServerTransport;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * The caller's tasks as MCP tools, served by the MCP SDK's stateless server. Tools differ per project
 * (two projects may both have a task "classify"), so each message gets a server built over the calling
 * project's current tasks: cheap, and never out of date after a task changes. Task failures are tool
 * results with {@code isError: true}, which the agent reads; only an unknown tool is a JSON-RPC error, as
 * the MCP specification has it.
 */
@Singleton
public class TaskToolServer {
    private static final Logger LOG = LoggerFactory.getLogger(TaskToolServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INSTRUCTIONS = "Each tool is a Quiver task: a small fine-tuned model for one narrow"
            + " job. Call it with arguments matching its input schema; the result is its answer.";
    /** Set on the transport context of every message. */
    static final String PROJECT = "quiver.project";

    private final TaskService tasks;
    private final TaskInvoker invoker;
    private final McpJsonMapper mapper = new JacksonMcpJsonMapper(new ObjectMapper());
    private final JsonSchemaValidator validator = new DefaultJsonSchemaValidator();
    private final String version = versionOf(TaskToolServer.class);

    public TaskToolServer(TaskService tasks, TaskInvoker invoker) {
        this.tasks = tasks;
        this.invoker = invoker;
    }

    /** The JSON mapper of the SDK's schema classes. */
    public McpJsonMapper mapper() {
        return mapper;
    }

    /** The protocol versions the server speaks. */
    public List<String> protocolVersions() {
        return new Exchange().protocolVersions();
    }

    /** Answers one JSON-RPC request of {@code project}. */
    public McpSchema.JSONRPCResponse handle(String project, McpSchema.JSONRPCRequest request) {
        McpTransportContext context = context(project);
        return serverFor(project).handleRequest(context, request)
                .contextWrite(ctx -> ctx.put(McpTransportContext.KEY, context)).block();
    }

    /** Takes one notification of {@code project} (the stateless server has nothing to do for any). */
    public void handle(String project, McpSchema.JSONRPCNotification notification) {
        McpTransportContext context = context(project);
        serverFor(project).handleNotification(context, notification)
                .contextWrite(ctx -> ctx.put(McpTransportContext.KEY, context)).block();
    }

    private McpStatelessServerHandler serverFor(String project) {
        Exchange exchange = new Exchange();
        McpStatelessSyncServer server = McpServer.sync(exchange)
                .serverInfo("quiver", version)
                .instructions(INSTRUCTIONS)
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .jsonMapper(mapper)
                .jsonSchemaValidator(validator)
                // inputs are validated by the task itself, with the same messages as POST /v1/tasks/{name}/invoke
                .validateToolInputs(false)
                .immediateExecution(true)
                .tools(tasks.list(project).stream().map(t -> spec(project, t)).toList())
                .build();
        return exchange.handler;
    }

    private McpStatelessServerFeatures.SyncToolSpecification spec(String project, Task task) {
        TaskDefinition d = TaskDefinition.of(task);
        McpSchema.Tool.Builder tool = McpSchema.Tool.builder(task.getName())
                .description(task.getDescription())
                .inputSchema(TaskViews.map(d.inputSchema()))
                .annotations(new McpSchema.ToolAnnotations(null, true, false, null, false, null));
        if (d.outputSchema() != null) {
            tool.outputSchema(d.outputIsObject() ? TaskViews.map(d.outputSchema()) : wrapped(d));
        }
        return McpStatelessServerFeatures.SyncToolSpecification.builder()
                .tool(tool.build())
                .callHandler((context, request) -> call(project, task.getName(), d, request.arguments()))
                .build();
    }

    /** MCP structured content is an object: other outputs travel as {@code {"output": ...}}. */
    private static Map<String, Object> wrapped(TaskDefinition d) {
        return Map.of("type", "object", "properties", Map.of("output", TaskViews.map(d.outputSchema())),
                "required", List.of("output"));
    }

    private McpSchema.CallToolResult call(String project, String name, TaskDefinition d,
                                          @Nullable Map<String, Object> arguments) {
        try {
            TaskInvoker.Invocation result = invoker.invoke(project, name,
                    JSON.valueToTree(arguments == null ? Map.of() : arguments));
            Map<String, Object> meta = new java.util.LinkedHashMap<>();
            meta.put("served_by", result.servedBy());
            if (result.escalationReason() != null) {
                meta.put("escalation_reason", result.escalationReason());
            }
            McpSchema.CallToolResult.Builder out = McpSchema.CallToolResult.builder()
                    .addTextContent(text(result.output()))
                    .meta(meta)
                    .isError(false);
            if (d.outputSchema() != null) {
                out.structuredContent(d.outputIsObject() ? result.output() : Map.of("output", result.output()));
            }
            return out.build();
        } catch (ApiException e) {
            String message = e.getMessage();
            if (e instanceof TaskException t && t.details().containsKey("raw")) {
                message += "\nThe model answered: " + t.details().get("raw");
            }
            return McpSchema.CallToolResult.builder().addTextContent(message).isError(true).build();
        } catch (RuntimeException e) {
            LOG.warn("task {} failed: {}", name, e.getMessage(), e);
            return McpSchema.CallToolResult.builder().addTextContent("The task failed on the server; try again.")
                    .isError(true).build();
        }
    }

    private static String text(Object output) {
        if (output instanceof String s) {
            return s;
        }
        try {
            return JSON.writeValueAsString(output);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static McpTransportContext context(String project) {
        return McpTransportContext.create(Map.of(PROJECT, project));
    }

    private static String versionOf(Class<?> type) {
        String v = type.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The SDK server's side of the transport: it hands over its handler, the controller does the HTTP. */
    private static final class Exchange implements McpStatelessServerTransport {
        private McpStatelessServerHandler handler;

        @Override
        public void setMcpHandler(McpStatelessServerHandler handler) {
            this.handler = handler;
        }

        @Override
        public Mono<Void> closeGracefully() {
            return Mono.empty();
        }
    }
}
