package dev.quiver.jobs.kubernetes;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import io.micronaut.core.convert.format.MapFormat;
import io.micronaut.core.naming.conventions.StringConvention;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.PositiveOrZero;
import java.util.List;
import java.util.Map;

/**
 * {@code quiver.kubernetes.*}: how the Kubernetes launcher shapes a fine-tuning Job. The Helm chart writes
 * these into the control plane's config file; each can also be set as an environment variable
 * ({@code QUIVER_KUBERNETES_IMAGE}).
 *
 * @param namespace where Jobs and their token Secrets go; empty means the client's (in a pod: its own)
 * @param image the Quiver image the runner runs ({@code train} role), normally the control plane's own
 * @param imagePullPolicy Always, IfNotPresent or Never; empty leaves Kubernetes' default
 * @param gpuResource the extended resource name of a GPU
 * @param gpuCount GPUs per runner; 0 runs on CPU
 * @param nodeSelector node labels the runner pod must match (keys kept verbatim, e.g. {@code nvidia.com/gpu.present})
 * @param tolerations Kubernetes tolerations: maps with key, operator, value, effect, tolerationSeconds
 * @param kueueQueue a Kueue LocalQueue; when set the Job carries {@code kueue.x-k8s.io/queue-name} and is
 *     created suspended so that Kueue admits it
 * @param backoffLimit pod retries inside one Job; Quiver's own attempts (which resume from a checkpoint)
 *     come on top
 * @param ttlSecondsAfterFinished how long a finished Job (and its pods' logs) stays
 * @param modelClaim the PersistentVolumeClaim holding the base model, mounted read-only; empty mounts none
 * @param modelMountPath where that claim is mounted: the same path as in the control plane, so the
 *     base model path the runner is given resolves there too
 * @param controlPlaneUrl the URL runners call back on (the control plane's Service); empty uses the
 *     URL the server listens on, which only a local cluster can reach
 */
@ConfigurationProperties("quiver.kubernetes")
public record KubernetesConfig(
        @Nullable String namespace,
        @NotBlank String image,
        @Nullable String imagePullPolicy,
        @Bindable(defaultValue = "nvidia.com/gpu") @NotBlank String gpuResource,
        @Bindable(defaultValue = "1") @PositiveOrZero int gpuCount,
        @Nullable String cpuRequest,
        @Nullable String cpuLimit,
        @Nullable String memoryRequest,
        @Nullable String memoryLimit,
        @Nullable @MapFormat(transformation = MapFormat.MapTransformation.FLAT, keyFormat = StringConvention.RAW)
        Map<String, String> nodeSelector,
        @Nullable List<Map<String, Object>> tolerations,
        @Nullable String priorityClassName,
        @Nullable String serviceAccountName,
        @Nullable String kueueQueue,
        @Bindable(defaultValue = "0") @PositiveOrZero int backoffLimit,
        @Bindable(defaultValue = "86400") @PositiveOrZero int ttlSecondsAfterFinished,
        @Nullable String modelClaim,
        @Bindable(defaultValue = "/var/lib/quiver") @NotBlank String modelMountPath,
        @Nullable String controlPlaneUrl) {

    public KubernetesConfig {
        nodeSelector = nodeSelector == null ? Map.of() : Map.copyOf(nodeSelector);
        tolerations = tolerations == null ? List.of() : List.copyOf(tolerations);
    }
}
