package dev.quiver.jobs.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.ApiClient;
import dev.quiver.e2e.TicketData;
import dev.quiver.jobs.Launcher;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.client.HttpClient;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real fine-tune through the Kubernetes path: the control plane, with the Kubernetes launcher, creates a
 * {@code batch/v1} Job in the fabric8 mock API server; a {@link FakeKubelet} runs the Job's container command
 * as a local process of the same jar, which trains on the tiny model and reports back over HTTP; the launcher
 * follows the Job's status; and the fine-tuned adapter answers through {@code /v1/chat/completions}.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NS = "quiver";
    /** Held so the level sticks: the mock server logs every request at INFO. */
    private static final java.util.logging.Logger MOCK_LOG = KubernetesLauncherTest.quiet("io.fabric8.mockwebserver");

    KubernetesClient client;

    @TempDir
    Path root;

    @Test
    void aFineTuneRunsAsAKubernetesJobAndItsAdapterServes() throws Exception {
        Path model = root.resolve("qwen3-tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("quiver.base-model.path", model.toString());
        properties.put("quiver.data-dir", root.resolve("data").toString());
        properties.put("datasources.default.url", "jdbc:h2:mem:quiver-k8s-e2e;DB_CLOSE_DELAY=-1");
        properties.put("micronaut.server.host", "127.0.0.1");
        properties.put("micronaut.server.port", -1);
        properties.put("endpoints.all.port", -1);
        properties.put("micronaut.http.client.read-timeout", "300s");
        properties.put("quiver.jobs.poll-interval", "200ms");
        properties.put("quiver.jobs.launcher", "kubernetes");
        properties.put("quiver.kubernetes.namespace", NS);
        properties.put("quiver.kubernetes.image", "ghcr.io/quiver/quiver:test");
        properties.put("quiver.kubernetes.gpu-count", 0);

        try (ApplicationContext context = Micronaut.build(new String[0]).banner(false).singletons(client)
                .properties(properties).start();
             FakeKubelet kubelet = new FakeKubelet(client, NS, root.resolve("pods"), List.of("-Xmx1g",
                     "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                     "-Dai.djl.pytorch.num_interop_threads=1")).start();
             // from the context, so that the read timeout above lets an event stream last the whole fine-tune
             HttpClient http = context.createBean(HttpClient.class, context.getBean(EmbeddedServer.class).getURL())) {
            assertThat(context.getBean(Launcher.class)).isInstanceOf(KubernetesLauncher.class);
            ApiClient api = new ApiClient(http, context.getBean(ApiKeyService.class).create("k8s-e2e", "test").key());

            JsonNode file = api.upload("tickets.jsonl", TicketData.jsonl());
            JsonNode created = api.post("/v1/fine_tuning/jobs", Map.of("model", "qwen3-tiny", "training_file",
                    file.path("id").asText(), "suffix", "tickets", "seed", 7, "hyperparameters", Map.of(
                            "n_epochs", 20, "batch_size", 4, "learning_rate", 0.005, "lora_rank", 8)));
            String jobId = created.path("id").asText();
            List<JsonNode> events = api.events(jobId);
            JsonNode done = api.get("/v1/fine_tuning/jobs/" + jobId);

            String kubeJob = RunnerManifests.jobName(jobId, 1);
            assertThat(done.path("status").asText()).as(events + "\n" + log(kubelet, kubeJob)).isEqualTo("succeeded");
            assertThat(events).extracting(e -> e.path("message").asText())
                    .anyMatch(m -> m.startsWith("Created Kubernetes Job " + kubeJob + " in namespace " + NS))
                    .anyMatch(m -> m.contains("is running on node " + FakeKubelet.NODE));
            Job job = client.batch().v1().jobs().inNamespace(NS).withName(kubeJob).get();
            var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
            String url = container.getArgs().get(container.getArgs().indexOf("--control-plane") + 1);
            assertThat(url).startsWith("http://127.0.0.1:");
            // the runner reports its result before its process exits; the kubelet marks the Job after the exit
            long deadline = System.nanoTime() + 20_000_000_000L;
            while ((job.getStatus() == null || job.getStatus().getSucceeded() == null)
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
                job = client.batch().v1().jobs().inNamespace(NS).withName(kubeJob).get();
            }
            assertThat(job.getStatus().getSucceeded()).isEqualTo(1);

            String fineTuned = done.path("fine_tuned_model").asText();
            assertThat(fineTuned).isEqualTo("ft:qwen3-tiny:tickets:" + jobId);
            for (Map.Entry<String, List<String>> e : TicketData.TICKETS.entrySet()) {
                JsonNode answer = api.post("/v1/chat/completions", Map.of("model", fineTuned, "temperature", 0,
                        "max_tokens", 4, "messages", TicketData.messages(e.getValue().get(1), null)));
                assertThat(answer.path("choices").get(0).path("message").path("content").asText())
                        .isEqualTo(e.getKey());
            }
        }
    }

    private static String log(FakeKubelet kubelet, String job) {
        try {
            return Files.exists(kubelet.log(job)) ? Files.readString(kubelet.log(job)) : "(no pod log)";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
