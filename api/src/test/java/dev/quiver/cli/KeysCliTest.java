package dev.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.testing.QuiverProcess;
import dev.quiver.e2e.TinyModelServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code quiver keys} as an operator uses it: the first admin key made on the database, then a real server process
 * that holds that database, managed over HTTP; opening the held database gives a clear message, not a trace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeysCliTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private Path root;
    private Path data;
    private Process server;
    private String url;
    private String admin;

    @BeforeAll
    void aServerWithAnAdminKeyMadeOnItsDatabase() throws Exception {
        Map<String, String> props = TinyModelServer.properties("quiver-keys-cli");
        root = Path.of(props.get("quiver.data-dir")).getParent();
        data = root.resolve("data");
        Child created = run(List.of("keys", "create", "--admin", "--project", "operators", "--data-dir",
                data.toString()));
        assertThat(created.code()).as(created.err()).isZero();
        admin = created.out().strip();
        assertThat(admin).startsWith("qk-");
        assertThat(created.err()).contains("created admin key");

        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        url = "http://127.0.0.1:" + port;
        Path log = root.resolve("server.log");
        ProcessBuilder pb = QuiverProcess.command(List.of("server", "--data-dir", data.toString(), "--port", String.valueOf(port),
                "--base-model", props.get("quiver.base-model.path")));
        pb.environment().put("QUIVER_AUTH_REQUIRED", "true");
        server = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (status("/health/readiness", null) != 200) {
            assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("server ready within 120 s").isLessThan(deadline);
            server.waitFor(200, TimeUnit.MILLISECONDS);
        }
    }

    @AfterAll
    void stop() throws InterruptedException {
        if (server != null) {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void createOnADatabaseThatARunningServerHoldsSaysWhatToDoInstead() throws Exception {
        Child held = run(List.of("keys", "create", "--project", "x", "--data-dir", data.toString()));

        assertThat(held.code()).isEqualTo(1);
        assertThat(held.out()).isEmpty();
        assertThat(held.err()).contains("in use by a running server").contains("--server")
                .doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void createListAndRevokeThroughTheRunningServer() throws Exception {
        Result created = cli("keys", "create", "--server", url, "--admin-key", admin, "--project", "dave");
        assertThat(created.code()).as(created.err()).isZero();
        String dave = created.out().strip();
        assertThat(status("/v1/files", dave)).isEqualTo(200);

        Result listed = cli("keys", "list", "--server", url, "--admin-key", admin, "--project", "dave");
        assertThat(listed.code()).as(listed.err()).isZero();
        List<String> lines = listed.out().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith("ID").contains("PREFIX", "PROJECT", "CREATED", "LAST USED", "REVOKED");
        String[] row = lines.get(1).split("\\s+");
        assertThat(row[1]).isEqualTo(dave.substring(0, 10));
        assertThat(row[2]).isEqualTo("dave");
        assertThat(listed.out()).doesNotContain(dave);

        Result revoked = cli("keys", "revoke", row[0], "--server", url, "--admin-key", admin);
        assertThat(revoked.code()).as(revoked.err()).isZero();
        assertThat(status("/v1/files", dave)).isEqualTo(401);
        String after = cli("keys", "list", "--server", url, "--admin-key", admin, "--project", "dave").out();
        String revokedAt = after.lines().skip(1).findFirst().orElseThrow().split("\\s+")[6];
        assertThat(Instant.parse(revokedAt)).isBeforeOrEqualTo(Instant.now());
    }

    @Test
    void withoutAnAdminKeyTheServersRefusalIsOneClearLine() {
        Result none = cli("keys", "list", "--server", url);
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.out()).isEmpty();
        assertThat(none.err()).contains("401").contains("--admin-key").doesNotContain("\tat ");

        String tenant = cli("keys", "create", "--server", url, "--admin-key", admin, "--project", "erin").out().strip();
        Result forbidden = cli("keys", "revoke", "key-whatever", "--server", url, "--admin-key", tenant);
        assertThat(forbidden.code()).isEqualTo(1);
        assertThat(forbidden.err()).contains("403").contains("admin key").doesNotContain(tenant);

        Result unknown = cli("keys", "revoke", "key-nope", "--server", url, "--admin-key", admin);
        assertThat(unknown.err()).contains("404").contains("key-nope");
    }

    private int status(String path, String key) throws InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(5));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException notYet) {
            return -1;
        }
    }

    private record Result(int code, String out, String err) {
    }

    private record Child(int code, String out, String err) {
    }

    private static Result cli(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = QuiverCli.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private Child run(List<String> args) throws Exception {
        Path err = Files.createTempFile(root, "cli", ".err");
        Process p = QuiverProcess.command(args).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Child(p.exitValue(), out, Files.readString(err));
    }

}
