package dev.quiver.e2e;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import java.time.Duration;

/** An MCP client of a Quiver server's {@code /mcp}, as an agent connects: streamable HTTP with a project's key. */
public final class McpClients {
    private McpClients() {
    }

    /** A client of {@code baseUrl}'s {@code /mcp} calling with {@code key}; not yet initialized. */
    public static McpSyncClient connect(String baseUrl, String key) {
        return McpClient.sync(HttpClientStreamableHttpTransport.builder(baseUrl)
                        .endpoint("/mcp")
                        .httpRequestCustomizer((request, method, uri, body, context) ->
                                request.header("Authorization", "Bearer " + key))
                        .build())
                .requestTimeout(Duration.ofSeconds(60))
                .build();
    }
}
