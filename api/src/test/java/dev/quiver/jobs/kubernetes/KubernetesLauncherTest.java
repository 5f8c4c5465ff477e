package dev.quiver.jobs.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.jobs.Launcher.LaunchRequest;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class KubernetesLauncherTest {
    private static final String NS = "quiver";
    private static final String JOB = "ftjob-0123456789abcdef01234567";
    /** Held so the level sticks: the mock server logs every request at INFO. */
    private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");

    KubernetesClient client;

    private final List<KubernetesLauncher> launchers = new ArrayList<>();
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void closeLaunchers() {
        launchers.forEach(KubernetesLauncher::close);
    }

    @Test
    void jobRunsTheTrainRoleOnAGpuNodeWithTheModelVolumeReadOnly() throws Exception {
        KubernetesLauncher launcher = launcher(config(2, null, "models-pvc", null));

        String ref = launcher.launch(request(1));

        Job job = client.batch().v1().jobs().inNamespace(NS).withName(ref).get();
        assertThat(ref).isEqualTo(JOB + "-1");
        assertThat(job.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "quiver")
                .containsEntry("quiver.dev/job-id", JOB).containsEntry("quiver.dev/attempt", "1")
                .doesNotContainKey("kueue.x-k8s.io/queue-name");
        assertThat(job.getSpec().getSuspend()).isNull();
        assertThat(job.getSpec().getBackoffLimit()).isZero();
        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(3600);
        assertThat(job.getSpec().getTemplate().getMetadata().getLabels()).containsEntry("quiver.dev/job-id", JOB);
        PodSpec pod = job.getSpec().getTemplate().getSpec();
        assertThat(pod.getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getNodeSelector()).containsExactlyEntriesOf(Map.of("nvidia.com/gpu.present", "true"));
        assertThat(pod.getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("nvidia.com/gpu");
            assertThat(t.getOperator()).isEqualTo("Exists");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
        assertThat(pod.getPriorityClassName()).isEqualTo("training");
        assertThat(pod.getServiceAccountName()).isEqualTo("quiver-runner");
        var container = pod.getContainers().get(0);
        assertThat(container.getImage()).isEqualTo("ghcr.io/quiver/quiver:1.2.3");
        assertThat(container.getArgs()).containsExactly("train", "--job", JOB, "--control-plane",
                "http://quiver-control-plane.quiver.svc:8080");
        assertThat(container.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("24Gi"));
        assertThat(container.getResources().getRequests()).containsEntry("cpu", new Quantity("4"))
                .containsEntry("memory", new Quantity("16Gi")).doesNotContainKey("nvidia.com/gpu");
        assertThat(container.getVolumeMounts()).singleElement().satisfies(m -> {
            assertThat(m.getMountPath()).isEqualTo("/var/lib/quiver");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(pod.getVolumes()).singleElement().satisfies(v -> {
            assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("models-pvc");
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
        });
    }

    @Test
    void withoutGpusTheJobAsksForNone() throws Exception {
        KubernetesLauncher launcher = launcher(config(0, null, null, null));

        Job job = client.batch().v1().jobs().inNamespace(NS).withName(launcher.launch(request(1))).get();

        var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
        assertThat(container.getVolumeMounts()).isEmpty();
        assertThat(job.getSpec().getTemplate().getSpec().getVolumes()).isEmpty();
    }

    @Test
    void aKueueQueueLabelsTheJobAndCreatesItSuspendedForAdmission() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, "gpu-queue", null, null));

        String ref = launcher.launch(request(1));

        Job job = client.batch().v1().jobs().inNamespace(NS).withName(ref).get();
        assertThat(job.getMetadata().getLabels()).containsEntry("kueue.x-k8s.io/queue-name", "gpu-queue");
        assertThat(job.getSpec().getSuspend()).isTrue();
        assertThat(launcher.isAlive(ref)).isTrue();
        assertThat(launcher.state(ref).message()).contains("waiting for Kueue to admit it from queue gpu-queue");
    }

    @Test
    void theTokenReachesTheRunnerOnlyThroughASecretOwnedByTheJob() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));

        String ref = launcher.launch(request(1));

        Job job = client.batch().v1().jobs().inNamespace(NS).withName(ref).get();
        var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getArgs()).doesNotContain("s3cret-token");
        EnvVar env = container.getEnv().stream().filter(e -> e.getName().equals("QUIVER_RUNNER_TOKEN")).findFirst()
                .orElseThrow();
        assertThat(env.getValue()).isNull();
        assertThat(env.getValueFrom().getSecretKeyRef().getName()).isEqualTo(ref + "-token");
        assertThat(env.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("token");
        Secret secret = client.secrets().inNamespace(NS).withName(ref + "-token").get();
        assertThat(token(secret)).isEqualTo("s3cret-token");
        assertThat(secret.getMetadata().getLabels()).containsEntry("quiver.dev/job-id", JOB);
        assertThat(secret.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("Job");
            assertThat(o.getName()).isEqualTo(ref);
            assertThat(o.getUid()).isEqualTo(job.getMetadata().getUid());
        });
    }

    @Test
    void anActiveJobIsAliveAndACompletedOneIsNot() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        String ref = launcher.launch(request(1));
        assertThat(launcher.isAlive(ref)).isTrue();

        setStatus(ref, new JobStatusBuilder().withActive(1).build());
        addPod(ref, 1, "Running", null);
        assertThat(launcher.isAlive(ref)).isTrue();
        assertThat(launcher.state(ref).message()).isEqualTo("pod " + ref + "-abcde is running on node gpu-node-1");

        setStatus(ref, new JobStatusBuilder().withSucceeded(1).addNewCondition().withType("Complete")
                .withStatus("True").endCondition().build());
        assertThat(launcher.isAlive(ref)).isFalse();
        assertThat(launcher.failureReason(ref)).contains("Kubernetes Job " + ref
                + " completed, but the runner did not report a result");
    }

    @Test
    void anOomKilledRunnerIsDeadWithTheReason() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        String ref = launcher.launch(request(1));
        addPod(ref, 1, "Failed", new PodBuilder().withNewStatus().addNewContainerStatus().withName("train")
                .withNewState().withNewTerminated().withReason("OOMKilled").withExitCode(137).endTerminated()
                .endState().endContainerStatus().endStatus().build());
        setStatus(ref, failed());

        assertThat(launcher.isAlive(ref)).isFalse();
        assertThat(launcher.failureReason(ref)).hasValueSatisfying(r -> assertThat(r)
                .startsWith("Kubernetes Job " + ref + " failed (BackoffLimitExceeded): pod " + ref + "-abcde ran out"
                        + " of memory (OOMKilled, exit code 137)"));
    }

    @Test
    void anEvictedOrPreemptedRunnerIsDeadWithTheReason() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        String evicted = launcher.launch(request(1));
        addPod(evicted, 1, "Failed", new PodBuilder().withNewStatus().withReason("Evicted")
                .withMessage("The node was low on resource: memory.").endStatus().build());
        setStatus(evicted, failed());
        String preempted = launcher.launch(request(2));
        addPod(preempted, 2, "Failed", new PodBuilder().withNewStatus().addNewCondition().withType("DisruptionTarget")
                .withStatus("True").withReason("PreemptionByScheduler").withMessage("preempted by serving/llm-0")
                .endCondition().endStatus().build());
        setStatus(preempted, failed());

        assertThat(launcher.isAlive(evicted)).isFalse();
        assertThat(launcher.failureReason(evicted).orElseThrow())
                .endsWith("pod " + evicted + "-abcde was evicted: The node was low on resource: memory.");
        assertThat(launcher.isAlive(preempted)).isFalse();
        assertThat(launcher.failureReason(preempted).orElseThrow())
                .endsWith("was preempted by a higher-priority pod: preempted by serving/llm-0");
    }

    @Test
    void anImageThatCannotBePulledEndsTheRunnerAndFreesItsNode() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        String ref = launcher.launch(request(1));
        addPod(ref, 1, "Pending", new PodBuilder().withNewStatus().addNewContainerStatus().withName("train")
                .withNewState().withNewWaiting().withReason("ImagePullBackOff")
                .withMessage("Back-off pulling image \"ghcr.io/quiver/quiver:1.2.3\"").endWaiting().endState()
                .endContainerStatus().endStatus().build());

        assertThat(launcher.isAlive(ref)).isFalse();

        assertThat(launcher.failureReason(ref)).contains("pod " + ref + "-abcde cannot start: ImagePullBackOff:"
                + " Back-off pulling image \"ghcr.io/quiver/quiver:1.2.3\"");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(ref).get()).isNull();
    }

    @Test
    void anUnschedulableRunnerStaysAliveAndTheReasonReachesTheJobLog() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        launcher.start();
        String ref = launcher.launch(request(1));
        addPod(ref, 1, "Pending", new PodBuilder().withNewStatus().addNewCondition().withType("PodScheduled")
                .withStatus("False").withReason("Unschedulable")
                .withMessage("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.").endCondition().endStatus()
                .build());

        eventually(() -> events.stream().anyMatch(e -> e.contains("cannot be scheduled")));
        assertThat(launcher.isAlive(ref)).isTrue();
        assertThat(events).contains("warn " + JOB + ": Pod " + ref + "-abcde cannot be scheduled yet: 0/3 nodes are"
                + " available: 3 Insufficient nvidia.com/gpu.");

        setStatus(ref, new JobStatusBuilder().withActive(1).build());
        retryOnConflict(() -> client.pods().inNamespace(NS).withName(ref + "-abcde").editStatus(p -> new PodBuilder(p)
                .editStatus().withPhase("Running").withConditions().endStatus().build()));
        eventually(() -> events.stream().anyMatch(e -> e.contains("is running")));
        assertThat(events).filteredOn(e -> e.contains("cannot be scheduled")).hasSize(1);
    }

    @Test
    void cancelDeletesTheJobAndItsSecret() throws Exception {
        KubernetesLauncher launcher = launcher(config(1, null, null, null));
        String ref = launcher.launch(request(1));

        launcher.cancel(ref);
        launcher.cancel(ref);

        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(ref).get()).isNull();
        assertThat(client.secrets().inNamespace(NS).withName(ref + "-token").get()).isNull();
        assertThat(launcher.isAlive(ref)).isFalse();
        assertThat(launcher.failureReason(ref).orElseThrow()).contains("no longer exists");
    }

    @Test
    void aRestartedControlPlaneSeesTheRunningJobAndDoesNotStartASecond() throws Exception {
        KubernetesLauncher before = launcher(config(1, null, null, null));
        before.start();
        String ref = before.launch(request(1));
        setStatus(ref, new JobStatusBuilder().withActive(1).build());
        addPod(ref, 1, "Running", null);
        eventually(() -> "RUNNING".equals(client.batch().v1().jobs().inNamespace(NS).withName(ref).get()
                .getMetadata().getAnnotations().get(KubernetesLauncher.REPORTED)));
        before.close();
        events.clear();

        KubernetesLauncher after = launcher(config(1, null, null, null));
        after.start();
        eventually(after::synced);
        assertThat(after.isAlive(ref)).isTrue();
        String again = after.launch(new LaunchRequest(JOB, 1, "new-token", "http://ignored"));

        assertThat(again).isEqualTo(ref);
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel("quiver.dev/job-id", JOB).list().getItems())
                .hasSize(1);
        assertThat(token(client.secrets().inNamespace(NS).withName(ref + "-token").get())).isEqualTo("new-token");
        assertThat(events).singleElement().asString().contains("already exists; adopting it");
    }

    @Test
    void aBadConfigIsRefusedNamingTheProperty() {
        KubernetesConfig badMemory = new KubernetesConfig(NS, "img", null, "nvidia.com/gpu", 1, null, null, null,
                "lots", null, null, null, null, null, 0, 60, null, "/m", null);
        assertThatThrownBy(() -> new KubernetesLauncher(client, badMemory, this::record))
                .hasMessageContaining("quiver.kubernetes.memory-limit: 'lots' is not a Kubernetes quantity");
        KubernetesConfig badToleration = new KubernetesConfig(NS, "img", null, "nvidia.com/gpu", 1, null, null,
                null, null, null, List.of(Map.of("key", "gpu", "efect", "NoSchedule")), null, null, null, 0, 60, null,
                "/m", null);
        assertThatThrownBy(() -> new KubernetesLauncher(client, badToleration, this::record))
                .hasMessageContaining("quiver.kubernetes.tolerations[0]: unknown field 'efect'");
    }

    private KubernetesLauncher launcher(KubernetesConfig config) {
        KubernetesLauncher launcher = new KubernetesLauncher(client, config, this::record);
        launchers.add(launcher);
        return launcher;
    }

    private void record(String jobId, String level, String message, Map<String, Object> data) {
        events.add(level + " " + jobId + ": " + message);
    }

    private static KubernetesConfig config(int gpus, String kueueQueue, String modelClaim, String pullPolicy) {
        return new KubernetesConfig(NS, "ghcr.io/quiver/quiver:1.2.3", pullPolicy, "nvidia.com/gpu", gpus, "4", null,
                "16Gi", "24Gi", Map.of("nvidia.com/gpu.present", "true"),
                List.of(Map.of("key", "nvidia.com/gpu", "operator", "Exists", "effect", "NoSchedule")), "training",
                "quiver-runner", kueueQueue, 0, 3600, modelClaim, "/var/lib/quiver",
                "http://quiver-control-plane.quiver.svc:8080");
    }

    private static LaunchRequest request(int attempt) {
        return new LaunchRequest(JOB, attempt, "s3cret-token", "http://127.0.0.1:8080");
    }

    private static io.fabric8.kubernetes.api.model.batch.v1.JobStatus failed() {
        return new JobStatusBuilder().withFailed(1).addNewCondition().withType("Failed").withStatus("True")
                .withReason("BackoffLimitExceeded").withMessage("Job has reached the specified backoff limit")
                .endCondition().build();
    }

    private void setStatus(String ref, io.fabric8.kubernetes.api.model.batch.v1.JobStatus status) {
        retryOnConflict(() -> client.batch().v1().jobs().inNamespace(NS).withName(ref).editStatus(j -> new JobBuilder(j)
                .withStatus(status).build()));
    }

    /** Like the Job controller, writes again when the launcher's own update won the race. */
    private static void retryOnConflict(Runnable write) {
        for (int i = 0; ; i++) {
            try {
                write.run();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || i == 10) {
                    throw e;
                }
            }
        }
    }

    /** A pod of the runner as the Job controller would create it, in the given phase. */
    private void addPod(String ref, int attempt, String phase, Pod status) {
        Pod pod = new PodBuilder(status == null ? new Pod() : status)
                .withNewMetadata().withName(ref + "-abcde").withNamespace(NS)
                .withLabels(RunnerManifests.labels(JOB, attempt)).endMetadata()
                .withNewSpec().withNodeName("gpu-node-1").addNewContainer().withName("train").withImage("x")
                .endContainer().endSpec()
                .editOrNewStatus().withPhase(phase).endStatus()
                .build();
        client.pods().inNamespace(NS).resource(pod).create();
    }

    static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.WARNING);
        return logger;
    }

    private static String token(Secret secret) {
        if (secret.getStringData() != null && secret.getStringData().containsKey("token")) {
            return secret.getStringData().get("token");
        }
        return new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.UTF_8);
    }

    private static void eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
