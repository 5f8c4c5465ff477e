package dev.quiver.jobs.kubernetes;

import dev.quiver.jobs.Launcher.LaunchRequest;
import dev.quiver.finetune.runner.ControlPlaneClient;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Kubernetes objects of one runner attempt: a {@code batch/v1} Job running {@code quiver train} and the
 * Secret holding its token. Validates the config once, naming the offending property, so a bad quantity or
 * toleration fails at start-up and not at the first launch.
 */
final class RunnerManifests {
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String MANAGER = "quiver";
    static final String JOB_ID = "quiver.dev/job-id";
    static final String ATTEMPT = "quiver.dev/attempt";
    static final String KUEUE_QUEUE = "kueue.x-k8s.io/queue-name";
    static final String TOKEN_KEY = "token";
    static final String CONTAINER = "train";

    private static final Set<String> PULL_POLICIES = Set.of("Always", "IfNotPresent", "Never");
    private static final Set<String> TOLERATION_FIELDS = Set.of("key", "operator", "value", "effect",
            "tolerationSeconds");

    private final KubernetesConfig config;
    private final List<Toleration> tolerations;

    RunnerManifests(KubernetesConfig config) {
        this.config = config;
        for (var q : new String[][] {{"cpu-request", config.cpuRequest()}, {"cpu-limit", config.cpuLimit()},
                {"memory-request", config.memoryRequest()}, {"memory-limit", config.memoryLimit()}}) {
            quantity(q[0], q[1]);
        }
        if (present(config.imagePullPolicy()) && !PULL_POLICIES.contains(config.imagePullPolicy())) {
            throw new IllegalArgumentException("quiver.kubernetes.image-pull-policy: '" + config.imagePullPolicy()
                    + "' is not one of " + PULL_POLICIES);
        }
        List<Toleration> parsed = new ArrayList<>();
        for (int i = 0; i < config.tolerations().size(); i++) {
            parsed.add(toleration(i, config.tolerations().get(i)));
        }
        this.tolerations = List.copyOf(parsed);
    }

    /** The Job's name: one per Quiver job and attempt, so a second launch of the same attempt finds it. */
    static String jobName(String jobId, int attempt) {
        String base = jobId.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        String suffix = "-" + attempt;
        return (base.length() + suffix.length() > 63 ? base.substring(0, 63 - suffix.length()) : base) + suffix;
    }

    static String secretName(String jobName) {
        return jobName + "-token";
    }

    /** The labels that tie a Kubernetes object to a Quiver job attempt. */
    static Map<String, String> labels(String jobId, int attempt) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(MANAGED_BY, MANAGER);
        labels.put("app.kubernetes.io/name", "quiver");
        labels.put("app.kubernetes.io/component", "train");
        labels.put(JOB_ID, jobId);
        labels.put(ATTEMPT, Integer.toString(attempt));
        return labels;
    }

    Secret tokenSecret(String namespace, LaunchRequest request) {
        return new SecretBuilder()
                .withNewMetadata()
                .withName(secretName(jobName(request.jobId(), request.attempt())))
                .withNamespace(namespace)
                .withLabels(labels(request.jobId(), request.attempt()))
                .endMetadata()
                .withType("Opaque")
                .withImmutable(false)
                .addToStringData(TOKEN_KEY, request.runnerToken())
                .build();
    }

    Job job(String namespace, LaunchRequest request, String controlPlaneUrl) {
        String name = jobName(request.jobId(), request.attempt());
        Map<String, String> labels = labels(request.jobId(), request.attempt());
        Map<String, String> jobLabels = new LinkedHashMap<>(labels);
        boolean kueue = present(config.kueueQueue());
        if (kueue) {
            jobLabels.put(KUEUE_QUEUE, config.kueueQueue());
        }
        PodSpecBuilder pod = new PodSpecBuilder()
                .withRestartPolicy("Never")
                .withAutomountServiceAccountToken(false)
                .withNodeSelector(config.nodeSelector().isEmpty() ? null : new LinkedHashMap<>(config.nodeSelector()))
                .withTolerations(tolerations)
                .withPriorityClassName(blankToNull(config.priorityClassName()))
                .withServiceAccountName(blankToNull(config.serviceAccountName()))
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .withContainers(container(request, name, controlPlaneUrl));
        if (present(config.modelClaim())) {
            pod.addNewVolume()
                    .withName("models")
                    .withNewPersistentVolumeClaim(config.modelClaim(), true)
                    .endVolume();
        }
        return new JobBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(namespace)
                .withLabels(jobLabels)
                .endMetadata()
                .withNewSpec()
                .withSuspend(kueue ? Boolean.TRUE : null)
                .withBackoffLimit(config.backoffLimit())
                .withTtlSecondsAfterFinished(config.ttlSecondsAfterFinished())
                .withNewTemplate()
                .withNewMetadata().withLabels(labels).endMetadata()
                .withSpec(pod.build())
                .endTemplate()
                .endSpec()
                .build();
    }

    private Container container(LaunchRequest request, String jobName, String controlPlaneUrl) {
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        putQuantity(requests, "cpu", config.cpuRequest());
        putQuantity(requests, "memory", config.memoryRequest());
        putQuantity(limits, "cpu", config.cpuLimit());
        putQuantity(limits, "memory", config.memoryLimit());
        if (config.gpuCount() > 0) {
            // extended resources are requested through the limit alone; the request defaults to it
            limits.put(config.gpuResource(), new Quantity(Integer.toString(config.gpuCount())));
        }
        ContainerBuilder container = new ContainerBuilder()
                .withName(CONTAINER)
                .withImage(config.image())
                .withImagePullPolicy(blankToNull(config.imagePullPolicy()))
                .withArgs("train", "--job", request.jobId(), "--control-plane", controlPlaneUrl)
                .addNewEnv()
                .withName(ControlPlaneClient.TOKEN_ENV)
                .withNewValueFrom()
                .withNewSecretKeyRef(TOKEN_KEY, secretName(jobName), false)
                .endValueFrom()
                .endEnv()
                .withNewResources()
                .withRequests(requests.isEmpty() ? null : requests)
                .withLimits(limits.isEmpty() ? null : limits)
                .endResources()
                .withNewSecurityContext()
                .withAllowPrivilegeEscalation(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext();
        if (present(config.modelClaim())) {
            container.addNewVolumeMount()
                    .withName("models")
                    .withMountPath(config.modelMountPath())
                    .withReadOnly(true)
                    .endVolumeMount();
        }
        return container.build();
    }

    private static void putQuantity(Map<String, Quantity> into, String resource, String value) {
        if (present(value)) {
            into.put(resource, new Quantity(value));
        }
    }

    private static void quantity(String property, String value) {
        if (!present(value)) {
            return;
        }
        try {
            Quantity.getAmountInBytes(new Quantity(value));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("quiver.kubernetes." + property + ": '" + value
                    + "' is not a Kubernetes quantity (e.g. 500m, 4, 16Gi)");
        }
    }

    private static Toleration toleration(int index, Map<String, Object> fields) {
        String where = "quiver.kubernetes.tolerations[" + index + "]";
        for (String field : fields.keySet()) {
            if (!TOLERATION_FIELDS.contains(field)) {
                throw new IllegalArgumentException(where + ": unknown field '" + field + "', expected one of "
                        + TOLERATION_FIELDS);
            }
        }
        Object seconds = fields.get("tolerationSeconds");
        Long tolerationSeconds;
        try {
            tolerationSeconds = seconds == null ? null : Long.valueOf(seconds.toString());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ".tolerationSeconds: '" + seconds + "' is not a number");
        }
        return new TolerationBuilder()
                .withKey(string(fields.get("key")))
                .withOperator(string(fields.get("operator")))
                .withValue(string(fields.get("value")))
                .withEffect(string(fields.get("effect")))
                .withTolerationSeconds(tolerationSeconds)
                .build();
    }

    private static String string(Object value) {
        return value == null ? null : value.toString();
    }

    private static boolean present(String value) {
        return value != null && !value.isBlank();
    }

    private static String blankToNull(String value) {
        return present(value) ? value : null;
    }
}
