package dev.quiver.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.blob.DataDir;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.TinyModelServer;
import dev.quiver.files.BlobSweeper;
import dev.quiver.testing.LeftoverFiles;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Every way an upload can fail leaves nothing on disk, downloads and multipart parsing leave no temp files. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NothingLeftBehindTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GOOD_LINE = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
            + "{\"role\":\"assistant\",\"content\":\"billing\"}]}";
    private static final int MAX_BYTES = 200_000;

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    EmbeddedServer server;

    @Inject
    ApiKeyService keys;

    @Inject
    DataDir dataDir;

    @Inject
    BlobSweeper sweeper;

    private Path model;
    private String key;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-leftovers"));
        properties.put("quiver.jobs.max-concurrent", "0");
        properties.put("quiver.files.max-bytes", Integer.toString(MAX_BYTES));
        model = Path.of(properties.get("quiver.base-model.path"));
        return properties;
    }

    @BeforeAll
    void keyAndEngine() throws IOException {
        key = keys.create("leftovers", "test").key();
        // the first completion unpacks ONNX Runtime's natives into the temp dir, once per JVM: not a leftover
        client.toBlocking().retrieve(HttpRequest.POST("/v1/chat/completions", JSON.writeValueAsString(Map.of(
                "model", "qwen3-tiny", "max_tokens", 1, "messages", List.of(Map.of("role", "user", "content", "hi")))))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key));
    }

    @Test
    void deeplyNestedLineIs400NamingTheLineAndLeavesNothing() {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        HttpClientResponseException e = uploadError("nested.jsonl",
                ("[".repeat(10_000) + "\n" + GOOD_LINE + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(message(e)).contains("nested.jsonl:1:").contains("nesting depth");
        leftovers.assertNothingLeft();
    }

    @Test
    void nonUtf8UploadIs400NamingLineAndByteOffset() {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        byte[] latin1 = (GOOD_LINE + "\n{\"prompt\": \"caf\u00e9\"}\n").getBytes(StandardCharsets.ISO_8859_1);
        HttpClientResponseException e = uploadError("latin1.jsonl", latin1);
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(message(e)).contains("latin1.jsonl:2:")
                .contains("byte 0xE9 at byte offset " + (GOOD_LINE.length() + 1 + 15)).contains("must be UTF-8");
        leftovers.assertNothingLeft();
    }

    @Test
    void oversizedUploadIs413AndLeavesNothing() {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        byte[] big = (GOOD_LINE + "\n").repeat(MAX_BYTES / GOOD_LINE.length() + 10).getBytes(StandardCharsets.UTF_8);
        assertThat(uploadError("big.jsonl", big).getStatus().getCode()).isEqualTo(413);
        leftovers.assertNothingLeft();
    }

    @Test
    void clientThatHangsUpMidUploadLeavesNothing() throws Exception {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        String boundary = "quiverboundary";
        String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.jsonl\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n";
        byte[] part = (GOOD_LINE + "\n").repeat(500).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("localhost", server.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/files HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + key + "\r\n"
                    + "Content-Type: multipart/form-data; boundary=" + boundary + "\r\n"
                    + "Content-Length: " + (head.length() + 10L * part.length) + "\r\n\r\n" + head)
                    .getBytes(StandardCharsets.UTF_8));
            out.write(part);
            out.flush();
            awaitMultipartTempFile(leftovers);
        }
        awaitNothingLeft(leftovers);
    }

    @Test
    void acceptedUploadLeavesOnlyItsBlobAndNoMultipartTempFile() throws IOException {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        String content = GOOD_LINE + "\n" + GOOD_LINE.replace("hi", "hello") + "\n";
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", "ok.jsonl", MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        content.getBytes(StandardCharsets.UTF_8)).build();
        JsonNode file = JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
        assertThat(file.path("id").asText()).startsWith("file-");
        leftovers.assertNothingLeftExcept(p -> p.startsWith(dataDir.root().resolve("blobs/sha256")));
    }

    @Test
    void adapterImportAndDownloadsLeaveNoTempFile() throws IOException {
        Path peft = writeAdapter();
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        importAdapter("downloaded", peft);
        for (int i = 0; i < 2; i++) {
            byte[] zip = client.toBlocking().retrieve(HttpRequest.GET("/v1/adapters/downloaded/content")
                    .bearerAuth(key), byte[].class);
            assertThat(entries(zip)).containsExactly(LoraConfig.FILE, PeftAdapter.WEIGHTS_FILE);
        }
        Path registry = dataDir.root().resolve("adapters");
        Path staging = registry.resolve(".staging");
        // the registered version, and the (empty) staging area the first import makes
        leftovers.assertNothingLeftExcept(p -> p.startsWith(registry) && (!p.startsWith(staging) || p.equals(staging)));
    }

    @Test
    void startupSweepRemovesBlobsThatNoRowReferences() throws IOException {
        String kept = JSON.readTree(upload("kept.jsonl", (GOOD_LINE + "\n").getBytes(StandardCharsets.UTF_8)))
                .path("id").asText();
        Path orphan = dataDir.root().resolve("blobs/sha256/ab/ab" + "0".repeat(62));
        Path interrupted = dataDir.root().resolve("blobs/tmp/put-123.tmp");
        Path fresh = dataDir.root().resolve("blobs/sha256/cd/cd" + "0".repeat(62));
        for (Path p : List.of(orphan, interrupted, fresh)) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, "left by a crash");
        }
        FileTime longAgo = FileTime.from(Instant.now().minus(Duration.ofDays(1)));
        Files.setLastModifiedTime(orphan, longAgo);
        Files.setLastModifiedTime(interrupted, longAgo);

        sweeper.sweep();

        assertThat(orphan).doesNotExist();
        assertThat(interrupted).doesNotExist();
        // young enough to be an upload still being validated on another replica
        assertThat(fresh).exists();
        Files.delete(fresh);
        byte[] content = client.toBlocking().retrieve(HttpRequest.GET("/v1/files/" + kept + "/content")
                .bearerAuth(key), byte[].class);
        assertThat(new String(content, StandardCharsets.UTF_8)).isEqualTo(GOOD_LINE + "\n");
    }

    @Test
    void refusedUploadsLeaveNoMultipartTempFile() {
        LeftoverFiles leftovers = LeftoverFiles.snapshot(dataDir.root());
        byte[] content = (GOOD_LINE + "\n").getBytes(StandardCharsets.UTF_8);
        MultipartBody wrongPurpose = MultipartBody.builder().addPart("purpose", "battle")
                .addPart("file", "p.jsonl", MediaType.APPLICATION_OCTET_STREAM_TYPE, content).build();
        HttpClientResponseException refused = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.POST("/v1/files", wrongPurpose)
                        .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
        assertThat(refused.getStatus().getCode()).isEqualTo(400);
        MultipartBody anonymous = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", "a.jsonl", MediaType.APPLICATION_OCTET_STREAM_TYPE, content).build();
        HttpClientResponseException unauthorized = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.POST("/v1/files", anonymous)
                        .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth("qk-nope")));
        assertThat(unauthorized.getStatus().getCode()).isEqualTo(401);
        leftovers.assertNothingLeft();
    }

    /** Proves the hang-up test exercises the disk path: the part is being buffered to a file when the client goes. */
    private static void awaitMultipartTempFile(LeftoverFiles leftovers) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (leftovers.newEntries().stream().noneMatch(p -> p.getFileName().toString().startsWith("FUp_"))) {
            assertThat(System.nanoTime()).as("no multipart temp file appeared").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private void awaitNothingLeft(LeftoverFiles leftovers) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!leftovers.newEntries().isEmpty() && System.nanoTime() < deadline) {
            // the server learns of the hang-up asynchronously, when its channel closes
            Thread.sleep(50);
        }
        leftovers.assertNothingLeft();
    }

    private HttpClientResponseException uploadError(String name, byte[] content) {
        return catchThrowableOfType(HttpClientResponseException.class, () -> upload(name, content));
    }

    private String upload(String name, byte[] content) {
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", name, MediaType.APPLICATION_OCTET_STREAM_TYPE, content).build();
        return client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key));
    }

    private Path writeAdapter() throws IOException {
        ModelConfig base = ModelConfig.load(model);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < base.numLayers(); l++) {
            ModelConfig.LinearShape s = base.linear("q_proj");
            String path = ModelConfig.modulePath(l, "q_proj");
            weights.put(path, new LoraWeights(path, 4, s.in(), s.out(), new float[4 * s.in()], new float[s.out() * 4]));
        }
        Path dir = Files.createTempDirectory("peft").resolve("a");
        new PeftAdapter(LoraConfig.of(4, 8, false, List.of("q_proj"), 0, "qwen3-tiny"), weights).write(dir, DType.F32);
        return dir;
    }

    private void importAdapter(String name, Path dir) {
        MultipartBody.Builder body = MultipartBody.builder().addPart("name", name);
        body.addPart("adapter_config", LoraConfig.FILE, MediaType.APPLICATION_JSON_TYPE,
                dir.resolve(LoraConfig.FILE).toFile());
        body.addPart("adapter_model", PeftAdapter.WEIGHTS_FILE, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                dir.resolve(PeftAdapter.WEIGHTS_FILE).toFile());
        client.toBlocking().retrieve(HttpRequest.POST("/v1/adapters", body.build())
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key));
    }

    private static List<String> entries(byte[] zip) throws IOException {
        List<String> names = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
            }
        }
        return names;
    }

    private static String message(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}")).path("error").path("message")
                    .asText();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
