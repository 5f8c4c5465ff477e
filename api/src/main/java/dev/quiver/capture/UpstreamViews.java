package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.net.URI;
import java.util.Iterator;
import java.util.Set;

/** The JSON shapes of a task's upstream and its captured calls. */
public final class UpstreamViews {
    private static final Set<String> FIELDS = Set.of("base_url", "model", "api_key", "capture", "sample_rate",
            "retention_days");
    private static final int DEFAULT_RETENTION_DAYS = 30;

    private UpstreamViews() {
    }

    /** {@code PUT /v1/tasks/{name}/upstream}: validated, with defaults applied. */
    public record Settings(String baseUrl, String model, @Nullable String apiKey, boolean capture, double sampleRate,
                           int retentionDays) {

        /** Parses a request body; every bad field is a 400 naming it. */
        public static Settings parse(JsonNode body) {
            for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!FIELDS.contains(field)) {
                    throw ApiException.invalid(field, "unknown field '" + field + "'; an upstream has " + FIELDS);
                }
            }
            String baseUrl = text(body, "base_url");
            URI uri;
            try {
                uri = URI.create(baseUrl);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("base_url", "base_url is not a URL: " + e.getMessage());
            }
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw ApiException.invalid("base_url", "base_url must be an http(s) URL of an OpenAI-compatible API,"
                        + " e.g. https://api.openai.com/v1 (the proxy appends /chat/completions)");
            }
            if (uri.getUserInfo() != null) {
                throw ApiException.invalid("base_url", "base_url must not carry credentials; give the key as"
                        + " api_key, a secret reference");
            }
            String model = text(body, "model");
            JsonNode key = body.get("api_key");
            if (key != null && !key.isNull() && !key.isTextual()) {
                throw ApiException.invalid("api_key", "api_key must be a string: env:NAME, file:PATH or property:NAME");
            }
            double rate = body.path("sample_rate").isMissingNode() ? 1.0 : number(body, "sample_rate");
            if (rate < 0 || rate > 1) {
                throw ApiException.invalid("sample_rate", "sample_rate must be between 0 and 1 (the share of calls"
                        + " captured), got " + rate);
            }
            int days = body.path("retention_days").isMissingNode() ? DEFAULT_RETENTION_DAYS
                    : (int) number(body, "retention_days");
            if (days < 1 || days > 3650) {
                throw ApiException.invalid("retention_days", "retention_days must be between 1 and 3650, got " + days);
            }
            JsonNode capture = body.path("capture");
            if (!capture.isMissingNode() && !capture.isBoolean()) {
                throw ApiException.invalid("capture", "capture must be true or false");
            }
            return new Settings(baseUrl.replaceAll("/+$", ""), model,
                    key == null || key.isNull() ? null : key.asText(), capture.isMissingNode() || capture.asBoolean(),
                    rate, days);
        }

        private static String text(JsonNode body, String field) {
            JsonNode v = body.get(field);
            if (v == null || !v.isTextual() || v.asText().isBlank()) {
                throw ApiException.invalid(field, field + " is required and must be a string");
            }
            return v.asText();
        }

        private static double number(JsonNode body, String field) {
            JsonNode v = body.get(field);
            if (!v.isNumber()) {
                throw ApiException.invalid(field, field + " must be a number");
            }
            return v.asDouble();
        }
    }

    /** A task's upstream as the API shows it: the key only as its reference. */
    @Serdeable
    public record UpstreamView(String object, String task, String baseUrl, String model, @Nullable String apiKey,
                               boolean capture, double sampleRate, int retentionDays, String proxyUrl,
                               long capturedUpstreamCalls, long capturedTaskCalls, long updatedAt) {
    }

    /** One captured call. */
    @Serdeable
    public record CallView(long id, String object, String side, String model, int status, @Nullable String error,
                           @Nullable String output, double latencyMs, int promptTokens, int completionTokens,
                           boolean escalated, @Nullable String escalationReason, long createdAt) {

        static CallView of(CapturedCall c) {
            return new CallView(c.getId(), "task.call", c.getSide(), c.getModel(), c.getStatus(), c.getError(),
                    c.getOutput(), c.getLatencyMs(), c.getPromptTokens(), c.getCompletionTokens(), c.escalated(),
                    c.getEscalationReason(), c.getCreatedAt().getEpochSecond());
        }
    }

    /** Deletion result. */
    @Serdeable
    public record Deleted(String object, String task, boolean deleted) {
    }
}
