package dev.quiver.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.multipart.MultipartBody;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The public API as a client calls it, with one project's key: for the end-to-end tests. */
public record ApiClient(HttpClient http, String key) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public JsonNode upload(String name, String content) throws IOException {
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", name, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        content.getBytes(StandardCharsets.UTF_8)).build();
        return JSON.readTree(http.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
    }

    public JsonNode get(String path) throws IOException {
        return JSON.readTree(http.toBlocking().retrieve(HttpRequest.GET(path).bearerAuth(key)));
    }

    public JsonNode post(String path, Object body) throws IOException {
        return JSON.readTree(http.toBlocking().retrieve(HttpRequest.POST(path, JSON.writeValueAsString(body))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key)));
    }

    /** The job's events, streamed until the job ends. */
    public List<JsonNode> events(String jobId) throws IOException {
        String sse = http.toBlocking().retrieve(HttpRequest.GET("/v1/fine_tuning/jobs/" + jobId
                + "/events?stream=true").accept(MediaType.TEXT_EVENT_STREAM_TYPE).bearerAuth(key));
        List<JsonNode> events = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data:")) {
                events.add(JSON.readTree(line.substring(5).trim()));
            }
        }
        return events;
    }
}
