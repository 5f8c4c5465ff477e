package dev.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.testing.QuiverProcess;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server roles as their own processes: SIGTERM drains in-flight streams, then they exit 0 with a clean log. */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GracefulShutdownTest {
    /** The default {@code quiver.shutdown.grace-period}: a stop must end within it. */
    private static final long GRACE_SECONDS = 30;

    @TempDir
    static Path dir;
    private static Path model;

    private final HttpClient http = HttpClient.newHttpClient();
    private Role running;

    @BeforeAll
    static void tinyModel() throws IOException {
        model = dir.resolve("qwen3-tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
    }

    @AfterEach
    void killLeftover() {
        if (running != null) {
            running.process.destroyForcibly();
        }
    }

    @Test
    void serverFinishesAStreamInFlightAtSigtermThenExitsZero() throws Exception {
        stopsCleanlyWhileStreaming("server");
    }

    @Test
    void serveFinishesAStreamInFlightAtSigtermThenExitsZero() throws Exception {
        stopsCleanlyWhileStreaming("serve");
    }

    @Test
    void controlPlaneExitsZeroOnSigterm() throws Exception {
        Role role = start("control-plane");
        assertThat(get(role.url + "/health/readiness")).contains("\"status\":\"UP\"");

        role.sigterm();

        assertStoppedCleanly(role);
    }

    private void stopsCleanlyWhileStreaming(String name) throws Exception {
        Role role = start(name);
        assertThat(get(role.url + "/health/readiness")).contains("\"status\":\"UP\"");
        // greedy decoding of the tiny model runs to max_tokens: about a second of tokens on two cores
        HttpRequest chat = HttpRequest.newBuilder(URI.create(role.url + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"qwen3-tiny\",\"stream\":true,\"max_tokens\":2000,"
                        + "\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build();
        HttpResponse<Stream<String>> response = http.send(chat, HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        Iterator<String> lines = response.body().iterator();
        List<String> events = new ArrayList<>();
        events.add(nextEvent(lines));

        role.sigterm();

        for (String event = nextEvent(lines); event != null; event = nextEvent(lines)) {
            events.add(event);
        }
        assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
        assertThat(events.get(events.size() - 2)).contains("\"finish_reason\":\"length\"");
        assertThat(events).hasSizeGreaterThan(1000);
        assertStoppedCleanly(role);
    }

    private static void assertStoppedCleanly(Role role) throws Exception {
        assertThat(role.process.waitFor(GRACE_SECONDS, TimeUnit.SECONDS)).as("exited within the grace period").isTrue();
        String log = role.output.get(10, TimeUnit.SECONDS);
        assertThat(role.process.exitValue()).as(log).isZero();
        assertThat(log).contains("stopped").doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** The data of the next SSE event, or null at the end of the stream. */
    private static String nextEvent(Iterator<String> lines) {
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.startsWith("data:")) {
                return line.substring(5).trim();
            }
        }
        return null;
    }

    private String get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** A running role: its process, its URL, and its whole output once it has exited. */
    private record Role(Process process, String url, CompletableFuture<String> output) {
        /** SIGTERM through the handle: {@code Process.destroy()} would also close the output still being read. */
        void sigterm() {
            assertThat(process.toHandle().destroy()).isTrue();
        }
    }

    /** Starts {@code quiver <role>} from the test class path on a random port and waits until it listens. */
    private Role start(String role) throws Exception {
        ProcessBuilder pb = QuiverProcess.command(List.of(role, "--base-model", model.toString(), "--data-dir",
                dir.resolve(role).toString())).redirectErrorStream(true);
        // -1: Micronaut picks a free port; the role prints its URL
        pb.environment().put("QUIVER_PORT", "-1");
        pb.environment().put("QUIVER_JOBS_POLL_INTERVAL", "100ms");
        Process process = pb.start();
        CompletableFuture<String> listening = new CompletableFuture<>();
        CompletableFuture<String> output = new CompletableFuture<>();
        QuiverProcess.collect(process, "quiver-" + role, listening, output);
        running = new Role(process, listening.get(60, TimeUnit.SECONDS), output);
        return running;
    }
}
