package dev.quiver.declared;

import static dev.quiver.declared.DeclaredAdapterReconciler.Action.ADOPTED;
import static dev.quiver.declared.DeclaredAdapterReconciler.Action.ALIASED;
import static dev.quiver.declared.DeclaredAdapterReconciler.Action.FAILED;
import static dev.quiver.declared.DeclaredAdapterReconciler.Action.REGISTERED;
import static dev.quiver.declared.DeclaredAdapterReconciler.Action.RETIRED;
import static dev.quiver.declared.DeclaredAdapterReconciler.Action.UNCHANGED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.auth.ApiKeyService;
import dev.quiver.declared.DeclaredAdapterReconciler.Report;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterService;
import dev.quiver.serving.http.ServingEngine;
import dev.quiver.serving.lora.AdapterSlots;
import dev.quiver.serving.lora.NoFreeSlotException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskService;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Declared adapters end to end in the all-in-one server on the tiny model: the control plane converges the
 * registry to a declared file mounted the way the kubelet mounts a ConfigMap, and the serving engine pins
 * what it declares pinned. The steps build on each other, as successive {@code helm upgrade}s do.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeclaredAdaptersTest implements TestPropertyProvider {
    private static final String PROJECT = "declared-test";
    private static final String KEY_A = "qk-" + "A".repeat(40);
    private static final String KEY_B = "qk-" + "B".repeat(40);

    @Inject
    DeclaredAdapterReconciler reconciler;

    @Inject
    PinnedAdapterLoader loader;

    @Inject
    DeclaredApiKeys apiKeys;

    @Inject
    DeclaredAdapterStateRepository states;

    @Inject
    AdapterService adapters;

    @Inject
    ApiKeyService keys;

    @Inject
    ServingEngine serving;

    @Inject
    @Client("/")
    HttpClient client;

    @Inject
    TaskService tasks;

    private Path root;
    private ModelConfig model;
    private MountedFile declared;
    private MountedFile keysFile;
    private HttpServer http;
    private final Map<String, byte[]> served = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    @Override
    public Map<String, String> getProperties() {
        try {
            root = Files.createTempDirectory("quiver-declared");
            Path modelDir = root.resolve("qwen3-tiny");
            model = DemoModelMaker.write(modelDir, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7,
                    DType.F32));
            TestAdapters.write(model, 1, root.resolve("imports/alpha"));
            Path beta = TestAdapters.write(model, 2, root.resolve("remote/beta"));
            Path gamma = TestAdapters.write(model, 3, root.resolve("remote/gamma"));
            served.put("/adapters/beta.zip", TestAdapters.zip(beta));
            for (String f : AdapterSourceFetcher.FILES) {
                served.put("/adapters/gamma/" + f, Files.readAllBytes(gamma.resolve(f)));
            }
            http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            http.createContext("/", exchange -> {
                String path = exchange.getRequestURI().getPath();
                hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
                byte[] body = served.get(path);
                exchange.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
                if (body != null) {
                    exchange.getResponseBody().write(body);
                }
                exchange.close();
            });
            http.start();
            declared = new MountedFile(root.resolve("etc/declared"), "quiver-declared.yaml");
            keysFile = new MountedFile(root.resolve("etc/api-keys"), "api-keys.yaml");
            keysFile.write("""
                    keys:
                      ci: {project: team-a, key: "%s"}
                      typo: {project: team-a, key: "not-a-key"}
                    """.formatted(KEY_A));
            return Map.of("quiver.base-model.path", modelDir.toString(),
                    "quiver.data-dir", root.resolve("data").toString(),
                    "quiver.declared.file", declared.path().toString(),
                    "quiver.declared.project", PROJECT,
                    // the test drives every poll itself
                    "quiver.declared.initial-delay", "1h",
                    "quiver.declared.poll-interval", "1h",
                    "quiver.auth.keys-file", keysFile.path().toString(),
                    "quiver.serving.lora-slots", "2",
                    // application.yml puts the management endpoints on 8080, which another server may hold
                    "endpoints.all.port", "-1");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    void stopHttp() {
        http.stop(0);
    }

    @Test
    @Order(1)
    void theKeysFileIsProvisionedAtStartAndWhenItChanges() throws Exception {
        assertThat(keys.projectOf(KEY_A).orElseThrow()).isEqualTo("team-a");
        assertThat(client.toBlocking().exchange(HttpRequest.GET("/v1/models").bearerAuth(KEY_A)).code())
                .isEqualTo(200);
        assertThatThrownBy(() -> client.toBlocking().exchange(HttpRequest.GET("/v1/models").bearerAuth(KEY_B)))
                .isInstanceOfSatisfying(HttpClientResponseException.class,
                        e -> assertThat(e.code()).isEqualTo(401));
        assertThat(apiKeys.poll()).as("unchanged file").isZero();

        keysFile.write("""
                keys:
                  ci: {project: team-a, key: "%1$s"}
                  moved: {project: team-c, key: "%1$s"}
                  deploy: {project: team-b, key: "%2$s"}
                """.formatted(KEY_A, KEY_B));

        assertThat(apiKeys.poll()).isEqualTo(1);
        assertThat(keys.projectOf(KEY_B).orElseThrow()).isEqualTo("team-b");
        assertThat(keys.projectOf(KEY_A).orElseThrow()).as("a key belongs to one project").isEqualTo("team-a");
        assertThat(apiKeys.poll()).isZero();
    }

    @Test
    @Order(2)
    void pathAndUrlSourcesAreRegisteredAndABadSourceDoesNotStopTheOthers() throws Exception {
        declared.write("""
                adapters:
                  broken: {source: "/nonexistent/adapter", pinned: true}
                  alpha: {source: "%1$s", pinned: true}
                  missing: {source: "%2$s/adapters/missing.zip"}
                  beta: {source: "%2$s/adapters/beta.zip", pinned: false}
                  gamma: {source: "%2$s/adapters/gamma/", pinned: true}
                  stable: {source: "alpha@1"}
                """.formatted(root.resolve("imports/alpha"), base()));

        Report report = reconciler.poll().orElseThrow();

        assertThat(report.actions()).containsExactlyEntriesOf(ordered("broken", FAILED, "alpha", REGISTERED,
                "missing", FAILED, "beta", REGISTERED, "gamma", REGISTERED, "stable", ALIASED));
        assertThat(report.of("broken").orElseThrow().message())
                .isEqualTo("/nonexistent/adapter is not a directory on the volume (a declared path must be a PEFT"
                        + " adapter directory with [adapter_config.json, adapter_model.safetensors])");
        assertThat(report.of("missing").orElseThrow().message())
                .isEqualTo("GET " + base() + "/adapters/missing.zip: HTTP 404");
        assertThat(report.of("stable").orElseThrow().adapterRef()).isEqualTo("alpha@1");
        assertThat(registered()).containsExactly("alpha@1", "beta@1", "gamma@1");
        assertThat(Files.mismatch(adapters.dir(adapters.get(PROJECT, "beta")).resolve("adapter_model.safetensors"),
                root.resolve("remote/beta/adapter_model.safetensors"))).isEqualTo(-1);
        assertThat(states.findById(PROJECT + "/broken").orElseThrow().getError()).contains("/nonexistent/adapter");
        assertThat(states.findById(PROJECT + "/gamma").orElseThrow().getAdapterRef()).isEqualTo("gamma@1");
    }

    @Test
    @Order(3)
    void reconcilingTheSameDeclarationsAgainRegistersAndDownloadsNothing() throws Exception {
        int downloads = hits.get("/adapters/beta.zip").get();

        assertThat(reconciler.poll()).as("the file's content did not change").isEmpty();
        DeclaredConfig same = DeclaredConfig.parse(Files.readString(declared.path()), "test");
        Report again = reconciler.reconcile(same);

        assertThat(again.actions()).containsExactlyEntriesOf(ordered("broken", FAILED, "alpha", UNCHANGED,
                "missing", FAILED, "beta", UNCHANGED, "gamma", UNCHANGED, "stable", UNCHANGED));
        assertThat(registered()).containsExactly("alpha@1", "beta@1", "gamma@1");
        assertThat(hits.get("/adapters/beta.zip").get()).isEqualTo(downloads);
    }

    @Test
    @Order(4)
    void theServingEnginePinsTheDeclaredPinnedAdapters() throws Exception {
        Map<String, String> pinned = loader.poll();

        AdapterSlots slots = serving.engine().slots();
        assertThat(pinned).containsOnlyKeys("alpha", "gamma");
        assertThat(pinned.get("alpha")).isEqualTo(adapters.get(PROJECT, "alpha@1").getId());
        assertThat(slots.resident().values()).containsExactlyInAnyOrderElementsOf(pinned.values());
        // both slots hold pinned adapters: nothing may take their place
        String beta = serving.resolve("beta", PROJECT);
        assertThatThrownBy(() -> slots.acquire(beta)).isInstanceOf(NoFreeSlotException.class);
        assertThat(loader.poll()).isEqualTo(pinned);
    }

    @Test
    @Order(5)
    void anUpgradeThatRemovesAndFlipsAdaptersConverges() throws Exception {
        declared.write("""
                adapters:
                  alpha: {source: "%1$s", pinned: false}
                  beta: {source: "%2$s/adapters/beta.zip", pinned: true}
                  stable: {source: "alpha@1"}
                """.formatted(root.resolve("imports/alpha"), base()));

        Report report = reconciler.poll().orElseThrow();

        assertThat(report.actions()).containsExactlyInAnyOrderEntriesOf(Map.of("alpha", UNCHANGED, "beta", UNCHANGED,
                "stable", UNCHANGED, "broken", RETIRED, "missing", RETIRED, "gamma", RETIRED));
        assertThat(report.of("alpha").orElseThrow().message()).isEqualTo("no longer pinned");
        assertThat(report.of("beta").orElseThrow().message()).isEqualTo("now pinned");
        assertThat(registered()).as("retired adapters stay in the registry").containsExactly("alpha@1", "beta@1",
                "gamma@1");
        assertThat(states.findById(PROJECT + "/gamma").orElseThrow().isRetired()).isTrue();

        Map<String, String> pinned = loader.poll();

        assertThat(pinned).containsOnlyKeys("beta");
        AdapterSlots slots = serving.engine().slots();
        String gamma = serving.resolve("gamma", PROJECT);
        // alpha is no longer pinned, so gamma may take its slot
        int slot = slots.acquire(gamma);
        slots.release(slot);
        assertThat(slots.resident().values()).containsExactlyInAnyOrder(pinned.get("beta"), gamma);
    }

    @Test
    @Order(6)
    void aChangedDirectoryOnTheVolumeBecomesANewVersionAndIsPinnedEverywhere() throws Exception {
        Path alpha = root.resolve("imports/alpha");
        Path replacement = TestAdapters.write(model, 42, root.resolve("imports/alpha-next"));
        for (String f : AdapterSourceFetcher.FILES) {
            Files.copy(replacement.resolve(f), alpha.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        declared.write("""
                adapters:
                  alpha: {source: "%1$s", pinned: true}
                  beta: {source: "%2$s/adapters/beta.zip", pinned: true}
                  stable: {source: "alpha@1"}
                  beta-copy: {source: "%3$s"}
                """.formatted(alpha, base(), root.resolve("remote/beta")));

        Report report = reconciler.poll().orElseThrow();

        assertThat(report.actions()).containsExactlyEntriesOf(ordered("alpha", REGISTERED, "beta", UNCHANGED,
                "stable", UNCHANGED, "beta-copy", REGISTERED));
        assertThat(report.of("alpha").orElseThrow().adapterRef()).isEqualTo("alpha@2");
        assertThat(registered()).containsExactly("alpha@1", "alpha@2", "beta@1", "beta-copy@1", "gamma@1");
        assertThat(loader.poll()).containsOnlyKeys("alpha", "beta")
                .containsEntry("alpha", adapters.get(PROJECT, "alpha@2").getId());

        // the declared content, restored after a lost state row, is adopted rather than registered twice
        states.deleteById(PROJECT + "/beta-copy");
        assertThat(reconciler.reconcile(DeclaredConfig.parse(Files.readString(declared.path()), "test")).actions())
                .containsEntry("beta-copy", ADOPTED);
        assertThat(registered()).hasSize(5);
    }

    @Test
    @Order(7)
    void declaredTasksAreCreatedThenUpdatedAndABadOneDoesNotStopTheOthers() throws Exception {
        String adapters = """
                adapters:
                  alpha: {source: "%1$s", pinned: true}
                tasks:
                  triage:
                    description: Label a support ticket.
                    adapter: alpha
                    promptTemplate: "Ticket: {{ ticket }}"
                    inputSchema: {type: object, properties: {ticket: {type: string}}, required: [ticket]}
                  broken-task:
                    description: Refers to an adapter that does not exist.
                    adapter: nope
                    inputSchema: {type: object}
                """.formatted(root.resolve("imports/alpha"));
        declared.write(adapters);
        reconciler.poll().orElseThrow();

        Task triage = tasks.find(PROJECT, "triage").orElseThrow();
        assertThat(triage.getDescription()).isEqualTo("Label a support ticket.");
        assertThat(tasks.find(PROJECT, "broken-task")).isEmpty();

        declared.write(adapters.replace("Label a support ticket.", "Label a ticket by its topic."));
        reconciler.poll().orElseThrow();
        assertThat(tasks.find(PROJECT, "triage").orElseThrow().getDescription())
                .isEqualTo("Label a ticket by its topic.");
    }

    private String base() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    private List<String> registered() {
        return adapters.list(PROJECT).stream().map(AdapterRecord::getName).distinct()
                .flatMap(n -> adapters.list(PROJECT).stream().filter(r -> r.getName().equals(n)))
                .map(r -> r.getName() + "@" + r.getVersion()).toList();
    }

    private static Map<String, DeclaredAdapterReconciler.Action> ordered(Object... pairs) {
        Map<String, DeclaredAdapterReconciler.Action> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], (DeclaredAdapterReconciler.Action) pairs[i + 1]);
        }
        return m;
    }
}
