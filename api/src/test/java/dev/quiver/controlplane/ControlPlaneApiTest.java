package dev.quiver.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.blob.DataDir;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.jobs.FineTuningJob;
import dev.quiver.jobs.JobScheduler;
import dev.quiver.jobs.JobService;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The control plane's HTTP API: validation errors, project isolation, the registry, restart reconciliation. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlPlaneApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GOOD_LINE = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
            + "{\"role\":\"assistant\",\"content\":\"billing\"}]}";

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    @Inject
    JobService jobs;

    @Inject
    JobScheduler scheduler;

    @Inject
    DataDir dataDir;

    private Path model;
    private String alice;
    private String bob;

    @Override
    public Map<String, String> getProperties() {
        try {
            Path root = Files.createTempDirectory("quiver-cp");
            model = root.resolve("qwen3-tiny");
            DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
            // no runner is ever started here: the scheduler only reconciles
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.data-dir", root.resolve("data").toString(),
                    "quiver.jobs.max-concurrent", "0",
                    "quiver.jobs.max-attempts", "1",
                    "quiver.files.max-bytes", "100000");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @BeforeAll
    void keys() {
        alice = keys.create("alice", "test").key();
        bob = keys.create("bob", "test").key();
    }

    @Test
    void requestsWithoutAValidKeyAre401() {
        HttpClientResponseException none = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve("/v1/files"));
        assertThat(none.getStatus().getCode()).isEqualTo(401);
        assertThat(body(none).path("error").path("code").asText()).isEqualTo("invalid_api_key");
        HttpClientResponseException bad = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.GET("/v1/files").bearerAuth("qk-nope")));
        assertThat(bad.getStatus().getCode()).isEqualTo(401);
    }

    @Test
    void invalidTrainingFileIsRejectedWithLineNumbersAndLeavesNothing() throws IOException {
        String content = GOOD_LINE + "\n{not json\n{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n";
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> upload(alice, "broken.jsonl", content));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        String message = body(e).path("error").path("message").asText();
        assertThat(message).contains("broken.jsonl:2").contains("broken.jsonl:3");
        assertThat(body(e).path("error").path("param").asText()).isEqualTo("file");
        try (Stream<Path> blobs = Files.walk(dataDir.resolve("blobs"))) {
            assertThat(blobs.filter(Files::isRegularFile).filter(p -> p.toString().contains("broken"))).isEmpty();
        }
        assertThat(list(alice, "/v1/files").toString()).doesNotContain("broken.jsonl");
    }

    @Test
    void oversizedUploadIs413() {
        String big = (GOOD_LINE + "\n").repeat(2000);
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> upload(alice, "big.jsonl", big));
        assertThat(e.getStatus().getCode()).isEqualTo(413);
    }

    @Test
    void projectsNeverSeeEachOthersFilesJobsOrAdapters() throws IOException {
        JsonNode file = upload(alice, "mine.jsonl", GOOD_LINE + "\n" + GOOD_LINE + "\n");
        String id = file.path("id").asText();
        assertThat(file.path("statistics").path("examples").asInt()).isEqualTo(2);
        assertThat(get(alice, "/v1/files/" + id).path("filename").asText()).isEqualTo("mine.jsonl");

        HttpClientResponseException hidden = catchThrowableOfType(HttpClientResponseException.class,
                () -> get(bob, "/v1/files/" + id));
        assertThat(hidden.getStatus().getCode()).isEqualTo(404);
        assertThat(list(bob, "/v1/files").toString()).doesNotContain(id);

        JsonNode job = post(alice, "/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file", id));
        assertThat(job.path("status").asText()).isEqualTo("queued");
        HttpClientResponseException notBobs = catchThrowableOfType(HttpClientResponseException.class,
                () -> post(bob, "/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file", id)));
        assertThat(notBobs.getStatus().getCode()).isEqualTo(400);
        assertThat(body(notBobs).path("error").path("param").asText()).isEqualTo("training_file");
        assertThat(list(bob, "/v1/fine_tuning/jobs").toString()).doesNotContain(job.path("id").asText());
        JsonNode cancelled = post(alice, "/v1/fine_tuning/jobs/" + job.path("id").asText() + "/cancel", Map.of());
        assertThat(cancelled.path("status").asText()).isEqualTo("cancelled");

        importAdapter(alice, "alice-private", adapterFiles(4, true));
        assertThat(list(alice, "/v1/adapters").toString()).contains("alice-private");
        assertThat(list(bob, "/v1/adapters").toString()).doesNotContain("alice-private");
        HttpClientResponseException noAdapter = catchThrowableOfType(HttpClientResponseException.class,
                () -> get(bob, "/v1/adapters/alice-private"));
        assertThat(noAdapter.getStatus().getCode()).isEqualTo(404);
    }

    @Test
    void jobCreationNamesTheBadField() throws IOException {
        String id = upload(alice, "ok.jsonl", GOOD_LINE + "\n").path("id").asText();
        assertThat(createError(Map.of("model", "gpt-4o", "training_file", id))).isEqualTo("model");
        assertThat(createError(Map.of("model", "qwen3-tiny", "training_file", "file-nope"))).isEqualTo("training_file");
        assertThat(createError(Map.of("model", "qwen3-tiny", "training_file", id,
                "hyperparameters", Map.of("n_epochs", 0)))).isEqualTo("hyperparameters.n_epochs");
        assertThat(createError(Map.of("model", "qwen3-tiny", "training_file", id,
                "hyperparameters", Map.of("target_modules", List.of("c_attn"))))).isEqualTo("hyperparameters.target_modules");
        assertThat(createError(Map.of("model", "qwen3-tiny", "training_file", id, "suffix", "no spaces!")))
                .isEqualTo("suffix");
        assertThat(createError(Map.of("model", "qwen3-tiny", "training_file", id, "task", "no-such-task")))
                .isEqualTo("task");
    }

    @Test
    void registryVersionsImportsDownloadsAndDeletesAdapters() throws IOException {
        JsonNode v1 = importAdapter(alice, "triage", adapterFiles(4, true));
        JsonNode v2 = importAdapter(alice, "triage", adapterFiles(8, true));
        assertThat(v1.path("version").asInt()).isEqualTo(1);
        assertThat(v2.path("version").asInt()).isEqualTo(2);
        assertThat(get(alice, "/v1/adapters/triage").path("rank").asInt()).isEqualTo(8);
        assertThat(get(alice, "/v1/adapters/triage@1").path("rank").asInt()).isEqualTo(4);

        byte[] zip = client.toBlocking().retrieve(HttpRequest.GET("/v1/adapters/triage@1/content").bearerAuth(alice),
                byte[].class);
        List<String> entries = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                entries.add(e.getName());
            }
        }
        assertThat(entries).containsExactly("adapter_config.json", "adapter_model.safetensors");

        JsonNode deleted = client.toBlocking().retrieve(HttpRequest.DELETE("/v1/adapters/triage@2").bearerAuth(alice),
                JsonNode.class);
        assertThat(deleted.path("deleted").asBoolean()).isTrue();
        assertThat(get(alice, "/v1/adapters/triage").path("version").asInt()).isEqualTo(1);
    }

    @Test
    void adapterThatDoesNotFitTheBaseIsRefusedAndLeavesNoFiles() throws IOException {
        Map<String, byte[]> wrong = adapterFiles(4, false);
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> importAdapter(alice, "misfit", wrong));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(body(e).path("error").path("message").asText()).contains("does not fit base model")
                .contains("expected [4, 64]");
        assertThat(list(alice, "/v1/adapters").toString()).doesNotContain("misfit");
        try (Stream<Path> dirs = Files.list(dataDir.resolve("adapters"))) {
            long versions = dirs.filter(d -> d.getFileName().toString().startsWith("adapter-")).count();
            assertThat(versions).isEqualTo(list(alice, "/v1/adapters").path("data").size()
                    + list(bob, "/v1/adapters").path("data").size());
        }
    }

    /** A job left running by a control plane that died, whose runner is gone too, is failed with the reason. */
    @Test
    void restartReconcilesARunningJobWhoseRunnerIsGone() throws IOException {
        String id = upload(alice, "r.jsonl", GOOD_LINE + "\n").path("id").asText();
        String jobId = post(alice, "/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file", id))
                .path("id").asText();
        assertThat(jobs.claim(jobId, "hash")).isTrue();
        Process gone = new ProcessBuilder("true").start();
        gone.onExit().join();
        jobs.setLauncherRef(jobId, "pid:" + gone.pid());

        scheduler.tick();

        FineTuningJob job = jobs.find(jobId).orElseThrow();
        assertThat(job.getStatus().wireName()).isEqualTo("failed");
        assertThat(job.getErrorCode()).isEqualTo("runner_lost");
        assertThat(get(alice, "/v1/fine_tuning/jobs/" + jobId).path("error").path("message").asText())
                .contains("exited without reporting");
    }

    private String createError(Map<String, Object> body) {
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> post(alice, "/v1/fine_tuning/jobs", body));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        return body(e).path("error").path("param").asText();
    }

    /** A PEFT adapter for q_proj/v_proj; when it must not fit, q_proj's A has 8 inputs too many. */
    private Map<String, byte[]> adapterFiles(int rank, boolean fits) throws IOException {
        ModelConfig base = ModelConfig.load(model);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < base.numLayers(); l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                ModelConfig.LinearShape s = base.linear(m);
                int in = !fits && m.equals("q_proj") ? s.in() + 8 : s.in();
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, in, s.out(), new float[rank * in],
                        new float[s.out() * rank]));
            }
        }
        Path dir = Files.createTempDirectory("peft").resolve("a");
        new PeftAdapter(LoraConfig.of(rank, 2 * rank, false, List.of("q_proj", "v_proj"), 0, "qwen3-tiny"), weights)
                .write(dir, DType.F32);
        return Map.of("adapter_config", Files.readAllBytes(dir.resolve("adapter_config.json")),
                "adapter_model", Files.readAllBytes(dir.resolve("adapter_model.safetensors")));
    }

    private JsonNode importAdapter(String key, String name, Map<String, byte[]> files) throws IOException {
        MultipartBody.Builder body = MultipartBody.builder().addPart("name", name);
        files.forEach((part, bytes) -> body.addPart(part, part, MediaType.APPLICATION_OCTET_STREAM_TYPE, bytes));
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/adapters", body.build())
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
    }

    private JsonNode upload(String key, String name, String content) throws IOException {
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", name, MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        content.getBytes(StandardCharsets.UTF_8)).build();
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
    }

    private JsonNode list(String key, String path) throws IOException {
        return get(key, path);
    }

    private JsonNode get(String key, String path) throws IOException {
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.GET(path).bearerAuth(key)));
    }

    private JsonNode post(String key, String path, Object body) throws IOException {
        MutableHttpRequest<String> request = HttpRequest.POST(path, JSON.writeValueAsString(body))
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key);
        return JSON.readTree(client.toBlocking().retrieve(request));
    }

    private static JsonNode body(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}"));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
