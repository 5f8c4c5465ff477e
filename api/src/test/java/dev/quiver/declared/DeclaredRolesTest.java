package dev.quiver.declared;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which role does what with the declared file: the control plane (where the job scheduler runs) converges
 * the registry and provisions keys; every process with a serving engine pins; `quiver serve` never writes.
 */
class DeclaredRolesTest {
    @TempDir
    static Path root;

    private static Path model;

    @BeforeAll
    static void tinyModel() throws Exception {
        model = root.resolve("qwen3-tiny");
        DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
    }

    @Test
    void theAllInOneServerReconcilesProvisionsAndPins() {
        try (ApplicationContext context = context(Map.of())) {
            assertThat(context.containsBean(DeclaredAdapterReconciler.class)).isTrue();
            assertThat(context.containsBean(DeclaredApiKeys.class)).isTrue();
            assertThat(context.containsBean(PinnedAdapterLoader.class)).isTrue();
        }
    }

    @Test
    void theControlPlaneReconcilesAndProvisionsButHasNothingToPin() {
        try (ApplicationContext context = context(Map.of("quiver.serving.enabled", false))) {
            assertThat(context.containsBean(DeclaredAdapterReconciler.class)).isTrue();
            assertThat(context.containsBean(DeclaredApiKeys.class)).isTrue();
            assertThat(context.containsBean(PinnedAdapterLoader.class)).isFalse();
        }
    }

    @Test
    void aServingReplicaOnlyPins() {
        try (ApplicationContext context = context(Map.of("quiver.jobs.scheduler.enabled", false))) {
            assertThat(context.containsBean(DeclaredAdapterReconciler.class)).isFalse();
            assertThat(context.containsBean(DeclaredApiKeys.class)).isFalse();
            assertThat(context.containsBean(PinnedAdapterLoader.class)).isTrue();
        }
    }

    @Test
    void withoutTheChartsFilesNothingIsDeclared() {
        Map<String, Object> props = base();
        props.remove("quiver.declared.file");
        props.remove("quiver.auth.keys-file");
        try (ApplicationContext context = ApplicationContext.builder().environments("test").properties(props)
                .eagerInitSingletons(false).start()) {
            assertThat(context.containsBean(DeclaredAdapterReconciler.class)).isFalse();
            assertThat(context.containsBean(DeclaredApiKeys.class)).isFalse();
            assertThat(context.containsBean(PinnedAdapterLoader.class)).isFalse();
        }
    }

    private static ApplicationContext context(Map<String, Object> role) {
        Map<String, Object> props = base();
        props.putAll(role);
        return ApplicationContext.builder().environments("test").properties(props).eagerInitSingletons(false).start();
    }

    private static Map<String, Object> base() {
        Map<String, Object> props = new HashMap<>();
        props.put("quiver.base-model.path", model.toString());
        props.put("quiver.data-dir", root.resolve("data").toString());
        props.put("quiver.declared.file", root.resolve("declared/quiver-declared.yaml").toString());
        props.put("quiver.auth.keys-file", root.resolve("api-keys/api-keys.yaml").toString());
        props.put("quiver.declared.initial-delay", "1h");
        props.put("quiver.declared.poll-interval", "1h");
        props.put("quiver.jobs.poll-interval", "1h");
        return props;
    }
}
