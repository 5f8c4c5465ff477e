package dev.quiver.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import dev.quiver.jobs.kubernetes.KubernetesConfig;
import dev.quiver.jobs.kubernetes.KubernetesLauncher;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.PropertySource;
import io.micronaut.context.env.yaml.YamlPropertySourceLoader;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The Helm chart, linted and rendered offline (helm embedded), every manifest parsed strictly. */
class HelmChartTest {
    private static final Path CHART = chart();
    private static final String RELEASE = "rel";
    private static final String NS = "ml";

    @TempDir
    Path dir;

    @Test
    void theChartPassesStrictLint() {
        LintResult lint = new Helm(CHART).lint().strict().call();

        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
        assertThat(lint.getMessages()).allMatch(m -> m.startsWith("[INFO]"));
    }

    @Test
    void defaultsRunTheKubernetesLauncherOnTheBundledPostgres() throws Exception {
        List<HasMetadata> manifests = render(Map.of());

        Container controlPlane = container(manifests, "rel-quiver-control-plane");
        assertThat(controlPlane.getArgs()).containsExactly("control-plane", "--host", "0.0.0.0", "--port", "8080",
                "--data-dir", "/var/lib/quiver");
        assertThat(env(controlPlane, "QUIVER_DB_URL").getValue())
                .isEqualTo("jdbc:postgresql://rel-quiver-postgresql:5432/quiver");
        assertThat(env(controlPlane, "QUIVER_DB_USER").getValue()).isEqualTo("quiver");
        assertThat(env(controlPlane, "QUIVER_DB_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo("rel-quiver-database");
        assertThat(env(controlPlane, "QUIVER_DATA_DIR").getValue()).isEqualTo("/var/lib/quiver");
        assertThat(controlPlane.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/liveness");
        assertThat(controlPlane.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/readiness");
        Deployment cp = find(manifests, Deployment.class, "rel-quiver-control-plane");
        assertThat(cp.getSpec().getStrategy().getType()).isEqualTo("Recreate");
        assertThat(cp.getSpec().getTemplate().getMetadata().getAnnotations())
                .containsEntry("prometheus.io/scrape", "true").containsEntry("prometheus.io/path", "/prometheus");
        assertThat(cp.getSpec().getTemplate().getSpec().getVolumes())
                .anySatisfy(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("rel-quiver"));
        assertThat(quiverConfig(manifests)).contains("launcher: kubernetes");

        StatefulSet postgres = find(manifests, StatefulSet.class, "rel-quiver-postgresql");
        assertThat(postgres.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("postgres:16.4");
        assertThat(find(manifests, Service.class, "rel-quiver-postgresql").getSpec().getClusterIP()).isEqualTo("None");
        Secret password = find(manifests, Secret.class, "rel-quiver-database");
        assertThat(Base64.getDecoder().decode(password.getData().get("password"))).hasSize(24);

        Role role = find(manifests, Role.class, "rel-quiver");
        assertThat(role.getRules()).anySatisfy(r -> rule(r, "jobs", "create", "delete", "watch", "patch"))
                .anySatisfy(r -> rule(r, "secrets", "create", "delete"))
                .anySatisfy(r -> rule(r, "pods", "list", "watch"))
                .anySatisfy(r -> rule(r, "events", "list", "watch"));
        assertThat(find(manifests, ServiceAccount.class, "rel-quiver-runner").getAutomountServiceAccountToken())
                .isFalse();
        assertThat(container(manifests, "rel-quiver-serving").getResources().getLimits())
                .doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void theControlPlaneReachesServingThroughItsServiceWithTheSharedInternalToken() throws Exception {
        List<HasMetadata> manifests = render(Map.of());

        Container controlPlane = container(manifests, "rel-quiver-control-plane");
        Container serving = container(manifests, "rel-quiver-serving");
        Service servingService = find(manifests, Service.class, "rel-quiver-serving");
        assertThat(env(controlPlane, "QUIVER_SERVING_URL").getValue()).isEqualTo("http://"
                + servingService.getMetadata().getName() + "." + NS + ".svc:"
                + servingService.getSpec().getPorts().get(0).getPort());
        assertThat(env(controlPlane, "QUIVER_SERVING_URL").getValue()).isEqualTo("http://rel-quiver-serving.ml.svc:8080");
        for (Container c : List.of(controlPlane, serving)) {
            var token = env(c, "QUIVER_INTERNAL_TOKEN").getValueFrom().getSecretKeyRef();
            assertThat(token.getName()).isEqualTo("rel-quiver-internal-token");
            assertThat(token.getKey()).isEqualTo("token");
        }
        assertThat(serving.getEnv()).noneMatch(e -> e.getName().equals("QUIVER_SERVING_URL"));
        Secret secret = find(manifests, Secret.class, "rel-quiver-internal-token");
        String token = new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.US_ASCII);
        assertThat(token).matches("[A-Za-z0-9]{48}");
        // rendered without a cluster there is nothing to keep: each render generates a new one
        assertThat(find(render(Map.of()), Secret.class, "rel-quiver-internal-token").getData().get("token"))
                .isNotEqualTo(secret.getData().get("token"));
        assertThat(env(container(render(Map.of("serving.service.port", "9000")), "rel-quiver-control-plane"),
                "QUIVER_SERVING_URL").getValue()).isEqualTo("http://rel-quiver-serving.ml.svc:9000");
    }

    @Test
    void anExistingInternalTokenSecretReplacesTheGeneratedOne() throws Exception {
        List<HasMetadata> manifests = render(Map.of("internalToken.existingSecret", "tier-token",
                "internalToken.secretKey", "value"));

        for (String deployment : List.of("rel-quiver-control-plane", "rel-quiver-serving")) {
            var token = env(container(manifests, deployment), "QUIVER_INTERNAL_TOKEN").getValueFrom().getSecretKeyRef();
            assertThat(token.getName()).isEqualTo("tier-token");
            assertThat(token.getKey()).isEqualTo("value");
        }
        assertThat(manifests).noneMatch(m -> m.getMetadata().getName().equals("rel-quiver-internal-token"));
    }

    @Test
    void podsDrainWithinTheirGracePeriodBeforeKubernetesKillsThem() throws Exception {
        List<HasMetadata> manifests = render(Map.of("shutdown.gracePeriodSeconds", "50",
                "shutdown.terminationGracePeriodSeconds", "70"));

        for (String deployment : List.of("rel-quiver-control-plane", "rel-quiver-serving")) {
            Deployment d = find(manifests, Deployment.class, deployment);
            assertThat(d.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds()).isEqualTo(70L);
            assertThat(env(container(manifests, deployment), "QUIVER_SHUTDOWN_GRACE_PERIOD").getValue())
                    .isEqualTo("50s");
        }
        assertThat(env(container(render(Map.of()), "rel-quiver-serving"), "QUIVER_SHUTDOWN_GRACE_PERIOD").getValue())
                .isEqualTo("30s");
        assertThatThrownBy(() -> template(Map.of("shutdown.gracePeriodSeconds", "60")))
                .hasMessageContaining("shutdown.gracePeriodSeconds (60) must be less than"
                        + " shutdown.terminationGracePeriodSeconds (45)");
    }

    @Test
    void theNotesNameTheServiceForEachKindOfClient() {
        String notes = new Helm(CHART).install().withName(RELEASE).withNamespace(NS).withKubeVersion("v1.31.0")
                .clientOnly().withDryRunOption(DryRun.CLIENT).call().getOutput();

        assertThat(notes).contains("http://rel-quiver-control-plane.ml.svc:8080/mcp")
                .contains("POST http://rel-quiver-control-plane.ml.svc:8080/v1/tasks/{name}/invoke")
                .contains("http://rel-quiver-serving.ml.svc:8080/v1");
    }

    @Test
    void servingAsksForGpusOnlyWhenEnabled() throws Exception {
        Path values = values("""
                serving:
                  replicaCount: 3
                  gpu: {enabled: true, count: 2, resourceName: nvidia.com/gpu}
                  nodeSelector: {nvidia.com/gpu.present: "true"}
                  tolerations:
                    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
                """);

        List<HasMetadata> manifests = render(values, Map.of());

        Deployment serving = find(manifests, Deployment.class, "rel-quiver-serving");
        assertThat(serving.getSpec().getReplicas()).isEqualTo(3);
        Container container = serving.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("8Gi"));
        assertThat(serving.getSpec().getTemplate().getSpec().getNodeSelector())
                .containsEntry("nvidia.com/gpu.present", "true");
        assertThat(serving.getSpec().getTemplate().getSpec().getTolerations()).singleElement()
                .satisfies(t -> assertThat(t.getEffect()).isEqualTo("NoSchedule"));
        assertThat(container(render(Map.of("serving.gpu.enabled", "false")), "rel-quiver-serving").getResources()
                .getLimits()).doesNotContainKey("nvidia.com/gpu");
        assertThat(env(container, "QUIVER_SERVING_EXECUTION_PROVIDER").getValue()).isEqualTo("cpu");
    }

    @Test
    void servingRunsOnCudaOnlyWithAGpuInThePod() throws Exception {
        Container serving = container(render(Map.of("serving.gpu.enabled", "true",
                "serving.executionProvider", "cuda:0")), "rel-quiver-serving");
        assertThat(env(serving, "QUIVER_SERVING_EXECUTION_PROVIDER").getValue()).isEqualTo("cuda:0");
        assertThatThrownBy(() -> template(Map.of("serving.executionProvider", "cuda")))
                .hasMessageContaining("serving.executionProvider=cuda needs a GPU in each serving pod");
        assertThatThrownBy(() -> template(Map.of("serving.executionProvider", "gpu")))
                .hasMessageContaining("/serving/executionProvider");
    }

    @Test
    void anExternalDatabaseReplacesTheBundledOne() throws Exception {
        List<HasMetadata> manifests = render(Map.of("postgresql.enabled", "false",
                "externalDatabase.host", "db.example.com", "externalDatabase.port", "6432",
                "externalDatabase.existingSecret", "pg-credentials", "externalDatabase.existingSecretPasswordKey", "pw",
                "externalDatabase.jdbcParams", "sslmode=require"));

        Container controlPlane = container(manifests, "rel-quiver-control-plane");
        assertThat(env(controlPlane, "QUIVER_DB_URL").getValue())
                .isEqualTo("jdbc:postgresql://db.example.com:6432/quiver?sslmode=require");
        var password = env(controlPlane, "QUIVER_DB_PASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(password.getName()).isEqualTo("pg-credentials");
        assertThat(password.getKey()).isEqualTo("pw");
        assertThat(manifests).noneMatch(m -> m instanceof StatefulSet)
                .noneMatch(m -> m.getMetadata().getName().contains("postgresql"))
                .noneMatch(m -> m instanceof Secret && m.getMetadata().getName().equals("rel-quiver-database"));
    }

    @Test
    void declaredAdaptersAndTasksReachEveryPodAndAChangeRollsTheServingReplicas() throws Exception {
        Path values = values("""
                adapters:
                  sentiment: {source: "sentiment@3", pinned: true}
                  invoices: {source: "/var/lib/quiver/imports/invoices"}
                tasks:
                  classify_sentiment:
                    description: Classify the sentiment of a product review
                    adapter: sentiment
                    inputSchema:
                      type: object
                      properties: {text: {type: string}}
                      required: [text]
                    outputSchema:
                      type: object
                      properties: {label: {type: string, enum: [positive, negative]}}
                """);

        List<HasMetadata> declared = render(values, Map.of());

        ConfigMap configMap = find(declared, ConfigMap.class, "rel-quiver-declared");
        Map<String, Object> file = new Yaml().load(configMap.getData().get("quiver-declared.yaml"));
        assertThat(file).containsEntry("adapters", Map.of(
                "sentiment", Map.of("source", "sentiment@3", "pinned", true),
                "invoices", Map.of("source", "/var/lib/quiver/imports/invoices", "pinned", false)));
        assertThat(file.get("tasks")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsKey("classify_sentiment");
        assertThat(container(declared, "rel-quiver-serving").getVolumeMounts())
                .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/etc/quiver/declared"));
        assertThat(quiverConfig(declared)).contains("file: /etc/quiver/declared/quiver-declared.yaml");

        String none = declaredChecksum(render(Map.of()));
        String two = declaredChecksum(declared);
        String three = declaredChecksum(render(values, Map.of("adapters.summaries.source", "summaries@1",
                "adapters.summaries.pinned", "true")));
        String unpinned = declaredChecksum(render(values, Map.of("adapters.sentiment.pinned", "false")));
        String moreReplicas = declaredChecksum(render(values, Map.of("serving.replicaCount", "5")));
        assertThat(List.of(none, two, three, unpinned)).doesNotHaveDuplicates();
        assertThat(moreReplicas).isEqualTo(two);
    }

    @Test
    void theRunnerSettingsBindIntoTheLaunchersConfig() throws Exception {
        Path values = values("""
                image: {registry: ghcr.io, repository: acme/quiver, tag: "1.2.3"}
                jobs:
                  runner:
                    gpu: {count: 2, resourceName: nvidia.com/gpu}
                    nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
                    tolerations:
                      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
                    kueueQueue: team-a
                    priorityClassName: training
                    backoffLimit: 1
                """);

        String quiverYml = quiverConfig(render(values, Map.of()));

        Map<String, Object> properties = new YamlPropertySourceLoader().read("quiver.yml",
                new ByteArrayInputStream(quiverYml.getBytes(StandardCharsets.UTF_8)));
        try (ApplicationContext context = ApplicationContext.builder().environments("test")
                .propertySources(PropertySource.of("quiver.yml", properties, 1000))
                // bind the launcher's settings without starting the launcher (no cluster here)
                .properties(Map.of("quiver.jobs.launcher", "local", "quiver.data-dir", dir.toString()))
                .eagerInitSingletons(false).start()) {
            KubernetesConfig config = context.getBean(KubernetesConfig.class);
            assertThat(config.namespace()).isEqualTo(NS);
            assertThat(config.image()).isEqualTo("ghcr.io/acme/quiver:1.2.3");
            assertThat(config.gpuCount()).isEqualTo(2);
            assertThat(config.nodeSelector()).containsExactly(Map.entry("nvidia.com/gpu.product",
                    "NVIDIA-H100-80GB-HBM3"));
            assertThat(config.tolerations()).containsExactly(Map.of("key", "nvidia.com/gpu", "operator", "Exists",
                    "effect", "NoSchedule"));
            assertThat(config.kueueQueue()).isEqualTo("team-a");
            assertThat(config.priorityClassName()).isEqualTo("training");
            assertThat(config.serviceAccountName()).isEqualTo("rel-quiver-runner");
            assertThat(config.modelClaim()).isEqualTo("rel-quiver");
            assertThat(config.memoryLimit()).isEqualTo("24Gi");
            assertThat(config.controlPlaneUrl()).isEqualTo("http://rel-quiver-control-plane.ml.svc:8080");
            try (KubernetesClient offline = new KubernetesClientBuilder()
                    .withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").build()).build()) {
                // the launcher accepts the settings (quantities, tolerations) as the chart writes them
                new KubernetesLauncher(offline, config, (jobId, level, message, data) -> { }).close();
            }
        }
    }

    @Test
    void preProvisionedApiKeysReachTheControlPlaneAsAFile() throws Exception {
        String key = "qk-" + "a".repeat(43);

        List<HasMetadata> manifests = render(Map.of("apiKeys.keys.ci.project", "default-project",
                "apiKeys.keys.ci.key", key));

        Secret secret = find(manifests, Secret.class, "rel-quiver-api-keys");
        Map<String, Object> file = new Yaml().load(new String(Base64.getDecoder().decode(
                secret.getData().get("api-keys.yaml")), StandardCharsets.UTF_8));
        assertThat(file).isEqualTo(Map.of("keys", Map.of("ci", Map.of("project", "default-project", "key", key))));
        assertThat(container(manifests, "rel-quiver-control-plane").getVolumeMounts())
                .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/etc/quiver/api-keys"));
        assertThat(quiverConfig(manifests)).contains("keys-file: /etc/quiver/api-keys/api-keys.yaml");
        assertThat(render(Map.of())).noneMatch(m -> m.getMetadata().getName().equals("rel-quiver-api-keys"));
        assertThatThrownBy(() -> template(Map.of("apiKeys.keys.ci.project", "p", "apiKeys.keys.ci.key", "guessable")))
                .hasMessageContaining("/apiKeys/keys/ci/key");
    }

    @Test
    void everyPodGetsTheMetricsTokenAndTheServiceMonitorScrapesWithIt() throws Exception {
        List<HasMetadata> defaults = render(Map.of());
        for (String deployment : List.of("rel-quiver-control-plane", "rel-quiver-serving")) {
            var token = env(container(defaults, deployment), "QUIVER_METRICS_TOKEN").getValueFrom().getSecretKeyRef();
            assertThat(token.getName()).isEqualTo("rel-quiver-metrics-token");
            assertThat(token.getKey()).isEqualTo("token");
        }
        Secret secret = find(defaults, Secret.class, "rel-quiver-metrics-token");
        assertThat(new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.US_ASCII))
                .matches("[A-Za-z0-9]{48}");
        assertThat(defaults).noneMatch(ServiceMonitor.class::isInstance);

        List<HasMetadata> monitored = render(Map.of("metrics.serviceMonitor.enabled", "true",
                "metrics.serviceMonitor.labels.release", "kube-prometheus"));
        ServiceMonitor monitor = find(monitored, ServiceMonitor.class, "rel-quiver");
        assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "kube-prometheus");
        assertThat(monitor.getSpec().selector().getMatchExpressions().get(0).getValues())
                .containsExactly("control-plane", "serving");
        assertThat(find(monitored, Service.class, "rel-quiver-serving").getMetadata().getLabels())
                .containsAllEntriesOf(monitor.getSpec().selector().getMatchLabels());
        ServiceMonitor.Endpoint endpoint = monitor.getSpec().endpoints().get(0);
        assertThat(endpoint.path()).isEqualTo("/prometheus");
        assertThat(endpoint.port()).isEqualTo("http");
        assertThat(endpoint.authorization().type()).isEqualTo("Bearer");
        assertThat(endpoint.authorization().credentials().getName()).isEqualTo("rel-quiver-metrics-token");
        assertThat(endpoint.authorization().credentials().getKey()).isEqualTo("token");

        List<HasMetadata> existing = render(Map.of("metrics.serviceMonitor.enabled", "true",
                "metrics.token.existingSecret", "scrape", "metrics.token.secretKey", "bearer"));
        assertThat(existing).noneMatch(m -> m.getMetadata().getName().equals("rel-quiver-metrics-token"));
        assertThat(env(container(existing, "rel-quiver-serving"), "QUIVER_METRICS_TOKEN").getValueFrom()
                .getSecretKeyRef().getName()).isEqualTo("scrape");
        assertThat(find(existing, ServiceMonitor.class, "rel-quiver").getSpec().endpoints().get(0).authorization()
                .credentials().getKey()).isEqualTo("bearer");
        assertThatThrownBy(() -> template(Map.of("metrics.serviceMonitor.interval", "often")))
                .hasMessageContaining("/metrics/serviceMonitor/interval");
    }

    @Test
    void aDeclaredKeyCanBeAnAdminKey() throws Exception {
        String key = "qk-" + "o".repeat(43);

        List<HasMetadata> manifests = render(Map.of("apiKeys.keys.ops.project", "operators",
                "apiKeys.keys.ops.key", key, "apiKeys.keys.ops.admin", "true"));

        Map<String, Object> file = new Yaml().load(new String(Base64.getDecoder().decode(
                find(manifests, Secret.class, "rel-quiver-api-keys").getData().get("api-keys.yaml")),
                StandardCharsets.UTF_8));
        assertThat(file).isEqualTo(Map.of("keys", Map.of("ops", Map.of("project", "operators", "key", key,
                "admin", true))));
        assertThatThrownBy(() -> template(Map.of("apiKeys.keys.ops.project", "operators",
                "apiKeys.keys.ops.key", key, "apiKeys.keys.ops.admin", "maybe")))
                .hasMessageContaining("/apiKeys/keys/ops/admin");
    }

    @Test
    void valuesThatBreakTheSchemaFailTheRender() {
        assertThatThrownBy(() -> template(Map.of("serving.replicaCount", "two")))
                .hasMessageContaining("/serving/replicaCount").hasMessageContaining("want integer");
        assertThatThrownBy(() -> template(Map.of("replicas", "2")))
                .hasMessageContaining("additional properties 'replicas' not allowed");
        assertThatThrownBy(() -> template(Map.of("jobs.launcher", "slurm")))
                .hasMessageContaining("/jobs/launcher");
        assertThatThrownBy(() -> template(Map.of("controlPlane.replicaCount", "2")))
                .hasMessageContaining("/controlPlane/replicaCount");
        assertThatThrownBy(() -> template(Map.of("adapters.x.pinned", "true")))
                .hasMessageContaining("/adapters/x").hasMessageContaining("source");
    }

    @Test
    void inconsistentValuesAreReportedAllAtOnce() {
        assertThatThrownBy(() -> template(Map.of("postgresql.enabled", "false", "adapters.mine.source", "mine")))
                .hasMessageContaining("externalDatabase.host: required when postgresql.enabled=false")
                .hasMessageContaining("externalDatabase: set password or existingSecret")
                .hasMessageContaining("adapters.mine.source: 'mine' is none of name@version");
    }

    @Test
    void theStrictParserRejectsAFieldKubernetesDoesNotKnow() {
        String misplaced = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - name: c
                          image: i
                          resource: {limits: {memory: 1Gi}}
                """;
        assertThatThrownBy(() -> StrictManifests.parse(misplaced)).hasMessageContaining("\"resource\"");
    }

    private List<HasMetadata> render(Map<String, String> set) throws Exception {
        return render(null, set);
    }

    private List<HasMetadata> render(Path valuesFile, Map<String, String> set) throws Exception {
        return StrictManifests.parse(template(valuesFile, set));
    }

    private static String template(Map<String, String> set) {
        return template(null, set);
    }

    private static String template(Path valuesFile, Map<String, String> set) {
        // helm-java's template checks kubeVersion against a built-in v1.20; say which cluster we target
        TemplateCommand template = new Helm(CHART).template().withName(RELEASE).withNamespace(NS)
                .withKubeVersion("v1.31.0");
        if (valuesFile != null) {
            template = template.withValuesFile(valuesFile);
        }
        for (var e : set.entrySet()) {
            template = template.set(e.getKey(), e.getValue());
        }
        return template.call();
    }

    private Path values(String yaml) throws Exception {
        return Files.writeString(Files.createTempFile(dir, "values", ".yaml"), yaml);
    }

    private static String quiverConfig(List<HasMetadata> manifests) {
        return find(manifests, ConfigMap.class, "rel-quiver-config").getData().get("quiver.yml");
    }

    private static String declaredChecksum(List<HasMetadata> manifests) {
        return find(manifests, Deployment.class, "rel-quiver-serving").getSpec().getTemplate().getMetadata()
                .getAnnotations().get("checksum/declared");
    }

    private static void rule(PolicyRule rule, String resource, String... verbs) {
        assertThat(rule.getResources()).contains(resource);
        assertThat(rule.getVerbs()).contains(verbs);
    }

    private static Container container(List<HasMetadata> manifests, String deployment) {
        return find(manifests, Deployment.class, deployment).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    private static EnvVar env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name + " in " + container.getName()));
    }

    private static <T extends HasMetadata> T find(List<HasMetadata> manifests, Class<T> kind, String name) {
        return manifests.stream().filter(kind::isInstance).map(kind::cast)
                .filter(m -> m.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " " + name));
    }

    private static Path chart() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("helm/quiver/Chart.yaml"))) {
            dir = dir.getParent();
        }
        return Optional.ofNullable(dir).map(d -> d.resolve("helm/quiver"))
                .orElseThrow(() -> new IllegalStateException("helm/quiver not found above the working directory"));
    }
}
