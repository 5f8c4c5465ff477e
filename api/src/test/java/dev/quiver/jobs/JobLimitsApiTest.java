package dev.quiver.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.TinyModelServer;
import dev.quiver.finetune.runner.RunnerSpec;
import dev.quiver.server.Hashes;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.multipart.MultipartBody;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Job creation and adapter import refuse, as a 400 naming the field and the limit, what the trainer would
 * refuse and what serving (here reporting rank 64 and attention modules only) could not serve.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobLimitsApiTest implements TestPropertyProvider {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LINE = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
            + "{\"role\":\"assistant\",\"content\":\"billing\"}]}";
    private static final List<String> ATTENTION = List.of("q_proj", "v_proj");

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    ApiKeyService keys;

    @Inject
    JobService jobs;

    private Path model;
    private String key;
    private String trainingFile;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> p = new HashMap<>(TinyModelServer.properties("quiver-limits"));
        model = Path.of(p.get("quiver.base-model.path"));
        // no runner is ever started here
        p.put("quiver.jobs.max-concurrent", "0");
        // the real engine, compiled with LoRA branches on the attention projections only
        p.put("quiver.serving.max-lora-rank", "64");
        p.put("quiver.serving.lora-targets", "q_proj,k_proj,v_proj,o_proj");
        return p;
    }

    @BeforeAll
    void setUp() throws IOException {
        key = keys.create("limits", "test").key();
        MultipartBody body = MultipartBody.builder().addPart("purpose", "fine-tune")
                .addPart("file", "t.jsonl", MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        (LINE + "\n").getBytes(StandardCharsets.UTF_8)).build();
        trainingFile = JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/files", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key))).path("id").asText();
    }

    @Test
    void learningRateTheTrainerWouldRefuseIs400WithTheTrainersLimit() {
        JsonNode error = createError(Map.of("learning_rate", 1.0, "target_modules", ATTENTION));

        assertThat(error.path("param").asText()).isEqualTo("hyperparameters.learning_rate");
        assertThat(error.path("message").asText()).isEqualTo("hyperparameters.learning_rate must be greater than 0"
                + " and less than 1, got 1.0; or \"auto\" to let the trainer choose");
    }

    @Test
    void rankAboveServingsLimitIs400NamingTheLimit() {
        JsonNode error = createError(Map.of("lora_rank", 128, "target_modules", ATTENTION));

        assertThat(error.path("param").asText()).isEqualTo("hyperparameters.lora_rank");
        assertThat(error.path("message").asText()).isEqualTo("hyperparameters.lora_rank 128 is above 64, the"
                + " largest LoRA rank the serving tier holds (quiver.serving.max-lora-rank); set lora_rank to at"
                + " most 64");
    }

    @Test
    void rankAboveTheTrainersLimitIs400WithIt() {
        JsonNode error = createError(Map.of("lora_rank", 300));

        assertThat(error.path("param").asText()).isEqualTo("hyperparameters.lora_rank");
        assertThat(error.path("message").asText()).contains("must be at least 1 and at most 256, got 300");
    }

    @Test
    void targetsServingHasNoBranchForAre400ListingWhatItServes() {
        JsonNode explicit = createError(Map.of("target_modules", List.of("q_proj", "gate_proj")));
        JsonNode auto = createError(Map.of());

        assertThat(explicit.path("param").asText()).isEqualTo("hyperparameters.target_modules");
        assertThat(explicit.path("message").asText()).isEqualTo("hyperparameters.target_modules includes"
                + " [gate_proj], which the serving tier has no LoRA branch for; it serves [q_proj, k_proj, v_proj,"
                + " o_proj], so set target_modules to some of those");
        assertThat(auto.path("param").asText()).isEqualTo("hyperparameters.target_modules");
        assertThat(auto.path("message").asText()).startsWith("hyperparameters.target_modules \"auto\" (all-linear)"
                + " includes [gate_proj, up_proj, down_proj]");
    }

    @Test
    void aJobWithinEveryLimitIsQueuedAndItsRunnerGetsTheTypedSpec() throws IOException {
        JsonNode job = create(Map.of("lora_rank", 64, "learning_rate", 0.005, "target_modules", ATTENTION));
        assertThat(job.path("status").asText()).isEqualTo("queued");
        assertThat(job.path("hyperparameters").toString()).isEqualTo("{\"n_epochs\":\"auto\",\"batch_size\":\"auto\","
                + "\"learning_rate\":0.005,\"lora_rank\":64,\"lora_alpha\":\"auto\","
                + "\"target_modules\":[\"q_proj\",\"v_proj\"]}");

        String id = job.path("id").asText();
        assertThat(jobs.claim(id, Hashes.sha256("runner-token"))).isTrue();
        String wire = client.toBlocking().retrieve(HttpRequest.GET("/v1/internal/jobs/" + id + "/spec")
                .bearerAuth("runner-token"));
        RunnerSpec spec = RunnerSpec.fromJson(wire);

        assertThat(spec.jobId()).isEqualTo(id);
        assertThat(spec.attempt()).isEqualTo(1);
        assertThat(spec.trainingFile()).isEqualTo(trainingFile);
        assertThat(spec.baseModelName()).isEqualTo("qwen3-tiny");
        assertThat(spec.resumeStep()).isNull();
        assertThat(spec.hyperparameters()).isEqualTo(new RunnerSpec.Hyperparameters(null, null, 0.005, 64, null,
                ATTENTION));
    }

    @Test
    void importedAdapterAboveServingsRankIs400() throws IOException {
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> importAdapter("too-wide", 128));

        assertThat(e.getStatus().getCode()).isEqualTo(400);
        assertThat(body(e).path("error").path("param").asText()).isEqualTo("adapter_config");
        assertThat(body(e).path("error").path("message").asText()).isEqualTo("adapter rank 128 is above 64, the"
                + " largest LoRA rank the serving tier holds (quiver.serving.max-lora-rank); retrain it with r (and"
                + " every rank_pattern entry) at most 64");
        assertThat(importAdapter("fits", 64).path("rank").asInt()).isEqualTo(64);
    }

    private JsonNode createError(Map<String, Object> hyperparameters) {
        HttpClientResponseException e = catchThrowableOfType(HttpClientResponseException.class,
                () -> create(hyperparameters));
        assertThat(e.getStatus().getCode()).isEqualTo(400);
        return body(e).path("error");
    }

    private JsonNode create(Map<String, Object> hyperparameters) throws IOException {
        String body = JSON.writeValueAsString(Map.of("model", "qwen3-tiny", "training_file", trainingFile,
                "hyperparameters", hyperparameters));
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/fine_tuning/jobs", body)
                .contentType(MediaType.APPLICATION_JSON_TYPE).bearerAuth(key)));
    }

    /** A zero PEFT adapter of {@code rank} on q_proj and v_proj that fits the base model. */
    private JsonNode importAdapter(String name, int rank) throws IOException {
        ModelConfig base = ModelConfig.load(model);
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < base.numLayers(); l++) {
            for (String m : ATTENTION) {
                ModelConfig.LinearShape s = base.linear(m);
                String path = ModelConfig.modulePath(l, m);
                weights.put(path, new LoraWeights(path, rank, s.in(), s.out(), new float[rank * s.in()],
                        new float[s.out() * rank]));
            }
        }
        Path dir = Files.createTempDirectory("peft").resolve(name);
        new PeftAdapter(LoraConfig.of(rank, 2 * rank, false, ATTENTION, 0, "qwen3-tiny"), weights).write(dir,
                DType.F32);
        MultipartBody body = MultipartBody.builder().addPart("name", name)
                .addPart("adapter_config", "adapter_config", MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        Files.readAllBytes(dir.resolve(LoraConfig.FILE)))
                .addPart("adapter_model", "adapter_model", MediaType.APPLICATION_OCTET_STREAM_TYPE,
                        Files.readAllBytes(dir.resolve(PeftAdapter.WEIGHTS_FILE))).build();
        return JSON.readTree(client.toBlocking().retrieve(HttpRequest.POST("/v1/adapters", body)
                .contentType(MediaType.MULTIPART_FORM_DATA_TYPE).bearerAuth(key)));
    }

    private static JsonNode body(HttpClientResponseException e) {
        try {
            return JSON.readTree(e.getResponse().getBody(String.class).orElse("{}"));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
