package dev.quiver.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.quiver.auth.KeyView;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The admin keys API ({@code /v1/admin/keys}) of a running server, for {@code quiver keys --server}. */
final class AdminKeysClient implements KeysCommand.KeyAdmin {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final URI base;
    private final String adminKey;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    AdminKeysClient(String server, String adminKey) {
        String url = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
        if (!url.matches("https?://[^/\\s]+(/\\S*)?")) {
            throw new IllegalArgumentException("--server must be the server's base URL, e.g. http://127.0.0.1:8080,"
                    + " not '" + server + "'");
        }
        this.base = URI.create(url + "/v1/admin/keys");
        this.adminKey = adminKey;
    }

    @Override
    public KeyView create(String project, String name, boolean admin) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("project", project);
        body.put("name", name);
        body.put("admin", admin);
        return view(send(request(base).POST(HttpRequest.BodyPublishers.ofString(write(body)))));
    }

    @Override
    public List<KeyView> list(String project) {
        URI uri = project == null ? base
                : URI.create(base + "?project=" + URLEncoder.encode(project, StandardCharsets.UTF_8));
        List<KeyView> keys = new ArrayList<>();
        for (JsonNode k : send(request(uri).GET()).path("data")) {
            keys.add(view(k));
        }
        return keys;
    }

    @Override
    public KeyView revoke(String id) {
        String path = "/" + URLEncoder.encode(id, StandardCharsets.UTF_8) + "/revoke";
        return view(send(request(URI.create(base + path)).POST(HttpRequest.BodyPublishers.noBody())));
    }

    @Override
    public void close() {
        // java.net.http.HttpClient has nothing to release before Java 21
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("Accept", "application/json");
        return adminKey == null || adminKey.isBlank() ? b : b.header("Authorization", "Bearer " + adminKey);
    }

    private JsonNode send(HttpRequest.Builder request) {
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach the server at " + base.resolve("/") + " (" + e
                    .getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "); is it running, and is --server right?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while calling " + base);
        }
        JsonNode body = read(response.body());
        if (response.statusCode() / 100 == 2) {
            return body;
        }
        String message = body.path("error").path("message").asText("");
        String hint = switch (response.statusCode()) {
            case 401 -> " Pass an admin key with --admin-key or QUIVER_ADMIN_KEY.";
            case 404 -> body.has("error") ? "" : " Is --server a Quiver control plane?";
            default -> "";
        };
        throw new IllegalStateException("the server answered " + response.statusCode()
                + (message.isEmpty() ? "" : ": " + message) + hint);
    }

    private static KeyView view(JsonNode node) {
        try {
            return JSON.treeToValue(node, KeyView.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the server's answer is not an API key: " + e.getOriginalMessage());
        }
    }

    private static JsonNode read(String text) {
        try {
            return text == null || text.isBlank() ? JSON.createObjectNode() : JSON.readTree(text);
        } catch (IOException e) {
            return JSON.createObjectNode(); // not JSON (a proxy's error page): the status says enough
        }
    }

    private static String write(Object body) {
        try {
            return JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the request: " + e.getMessage(), e);
        }
    }
}
