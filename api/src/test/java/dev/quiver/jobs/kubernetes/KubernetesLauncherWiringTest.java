package dev.quiver.jobs.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.jobs.Launcher;
import dev.quiver.jobs.LocalLauncher;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.PropertySource;
import io.micronaut.context.env.yaml.YamlPropertySourceLoader;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class KubernetesLauncherWiringTest {
    /** Held so the level sticks: the mock server logs every request at INFO. */
    private static final java.util.logging.Logger MOCK_LOG = KubernetesLauncherTest.quiet("io.fabric8.mockwebserver");

    /** The shape the Helm chart writes into the control plane's config file. */
    static final String CONFIG = """
            quiver:
              jobs:
                launcher: kubernetes
              kubernetes:
                namespace: ml
                image: ghcr.io/quiver/quiver:1.2.3
                gpu-resource: nvidia.com/gpu
                gpu-count: 2
                memory-limit: 24Gi
                node-selector:
                  nvidia.com/gpu.present: "true"
                  cloud.google.com/gke-accelerator: nvidia-l4
                tolerations:
                  - key: nvidia.com/gpu
                    operator: Exists
                    effect: NoSchedule
                kueue-queue: team-a
                backoff-limit: 1
                ttl-seconds-after-finished: 600
                model-claim: quiver-data
                model-mount-path: /var/lib/quiver
                control-plane-url: http://quiver-control-plane.ml.svc:8080
            """;

    KubernetesClient client;

    @Test
    void theKubernetesLauncherIsChosenByConfigAndBindsTheChartsSettings() throws Exception {
        try (ApplicationContext context = context(CONFIG)) {
            assertThat(context.getBean(Launcher.class)).isInstanceOf(KubernetesLauncher.class);
            KubernetesConfig config = context.getBean(KubernetesConfig.class);
            assertThat(config.namespace()).isEqualTo("ml");
            assertThat(config.gpuCount()).isEqualTo(2);
            assertThat(config.nodeSelector()).containsExactlyInAnyOrderEntriesOf(Map.of(
                    "nvidia.com/gpu.present", "true", "cloud.google.com/gke-accelerator", "nvidia-l4"));
            assertThat(config.tolerations()).containsExactly(
                    Map.of("key", "nvidia.com/gpu", "operator", "Exists", "effect", "NoSchedule"));
            assertThat(config.kueueQueue()).isEqualTo("team-a");
            assertThat(config.ttlSecondsAfterFinished()).isEqualTo(600);
            assertThat(config.modelClaim()).isEqualTo("quiver-data");
        }
    }

    @Test
    void defaultsApplyWhereTheChartSaysNothing() throws Exception {
        try (ApplicationContext context = context("""
                quiver:
                  jobs:
                    launcher: kubernetes
                  kubernetes:
                    image: quiver:dev
                """)) {
            KubernetesConfig config = context.getBean(KubernetesConfig.class);
            assertThat(config.gpuResource()).isEqualTo("nvidia.com/gpu");
            assertThat(config.gpuCount()).isEqualTo(1);
            assertThat(config.backoffLimit()).isZero();
            assertThat(config.nodeSelector()).isEmpty();
            assertThat(config.tolerations()).isEqualTo(List.of());
            assertThat(config.kueueQueue()).isNull();
        }
    }

    @Test
    void withoutAnImageTheKubernetesLauncherRefusesToStart() throws Exception {
        try (ApplicationContext context = context("quiver: {jobs: {launcher: kubernetes}}\n")) {
            assertThatThrownBy(() -> context.getBean(Launcher.class)).hasMessageContaining("quiver.kubernetes.image");
        }
    }

    @Test
    void theLocalLauncherStaysTheDefault() throws Exception {
        try (ApplicationContext context = context("quiver: {}\n")) {
            assertThat(context.getBean(Launcher.class)).isInstanceOf(LocalLauncher.class);
            assertThat(context.containsBean(KubernetesClient.class)).isFalse();
        }
    }

    private ApplicationContext context(String yaml) throws Exception {
        Map<String, Object> properties = new YamlPropertySourceLoader().read("chart-config",
                new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)));
        return ApplicationContext.builder()
                .environments("test")
                .propertySources(PropertySource.of("chart-config", properties, 1000))
                .properties(Map.of("quiver.data-dir", System.getProperty("java.io.tmpdir") + "/quiver-wiring-test"))
                .eagerInitSingletons(false)
                .start();
    }
}
