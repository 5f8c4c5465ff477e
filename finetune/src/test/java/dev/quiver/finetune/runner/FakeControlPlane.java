package dev.quiver.finetune.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A control plane's runner API that refuses the first {@code failures} event reports with a 500, then stores them. */
final class FakeControlPlane implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final AtomicInteger failuresLeft;
    /** Guarded by itself: the seq of every stored event, in arrival order, each once. */
    private final List<Long> stored = new ArrayList<>();
    private final AtomicInteger heartbeats = new AtomicInteger();

    FakeControlPlane(int failures) throws IOException {
        this.failuresLeft = new AtomicInteger(failures);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/internal/jobs/job-1/events", this::event);
        server.createContext("/v1/internal/jobs/job-1/heartbeat", e -> {
            heartbeats.incrementAndGet();
            answer(e, 200, "{\"ok\":true}");
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<Long> stored() {
        synchronized (stored) {
            return List.copyOf(stored);
        }
    }

    int heartbeats() {
        return heartbeats.get();
    }

    private void event(HttpExchange e) throws IOException {
        JsonNode body = JSON.readTree(e.getRequestBody());
        if (failuresLeft.getAndDecrement() > 0) {
            answer(e, 500, "{\"error\":{\"message\":\"database is busy\",\"type\":\"server_error\"}}");
            return;
        }
        synchronized (stored) {
            long seq = body.path("seq").asLong();
            if (!stored.contains(seq)) {
                stored.add(seq);
            }
        }
        answer(e, 200, "{\"ok\":true}");
    }

    private static void answer(HttpExchange e, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        e.getResponseHeaders().add("Content-Type", "application/json");
        e.sendResponseHeaders(status, bytes.length);
        e.getResponseBody().write(bytes);
        e.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
