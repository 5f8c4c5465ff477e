package dev.quiver.jobs.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A kubelet and Job controller in one, for the fabric8 mock API server: every Job created in its namespace
 * (and not suspended) gets one pod whose container runs as a local process: {@code java -cp <this JVM's class
 * path> dev.quiver.cli.QuiverCli <the container's args>}, the same jar as the image runs, with the container's
 * environment, secretKeyRefs resolved from the mock. Pod and Job statuses follow the process (running, then
 * succeeded or failed with its exit code); deleting the Job kills the process.
 */
final class FakeKubelet implements AutoCloseable {
    static final String NODE = "fake-node-1";

    private final KubernetesClient client;
    private final String namespace;
    private final Path logDir;
    private final List<String> jvmOptions;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Map<String, Process> processes = new ConcurrentHashMap<>();
    private final ExecutorService pods = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-kubelet");
        t.setDaemon(true);
        return t;
    });
    private SharedIndexInformer<Job> informer;

    FakeKubelet(KubernetesClient client, String namespace, Path logDir, List<String> jvmOptions) {
        this.client = client;
        this.namespace = namespace;
        this.logDir = logDir;
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    FakeKubelet start() {
        informer = client.batch().v1().jobs().inNamespace(namespace).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Job job) {
                admit(job);
            }

            @Override
            public void onUpdate(Job before, Job job) {
                admit(job);
            }

            @Override
            public void onDelete(Job job, boolean unknown) {
                Process p = processes.remove(job.getMetadata().getName());
                if (p != null) {
                    p.destroy();
                }
            }
        });
        return this;
    }

    /** The log of the pod that ran {@code jobName}. */
    Path log(String jobName) {
        return logDir.resolve(jobName + ".log");
    }

    private void admit(Job job) {
        if (Boolean.TRUE.equals(job.getSpec().getSuspend()) || !seen.add(job.getMetadata().getName())) {
            return;
        }
        pods.submit(() -> {
            try {
                run(job);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // closing
            } catch (Exception e) {
                System.err.println("fake kubelet: cannot run Job " + job.getMetadata().getName() + ": " + e);
            }
            return null;
        });
    }

    private void run(Job job) throws IOException, InterruptedException {
        String name = job.getMetadata().getName();
        Container container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.quiver.cli.QuiverCli"));
        command.addAll(container.getArgs());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Files.createDirectories(logDir);
        pb.redirectOutput(log(name).toFile());
        for (EnvVar env : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
            pb.environment().put(env.getName(), value(env));
        }
        String podName = name + "-" + Long.toString(System.nanoTime() % 100_000, 36);
        Pod pod = new PodBuilder()
                .withNewMetadata().withName(podName).withNamespace(namespace)
                .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                .withCreationTimestamp(Instant.now().toString()).endMetadata()
                .withNewSpec().withNodeName(NODE).withContainers(container).endSpec()
                .withNewStatus().withPhase("Running").addNewContainerStatus().withName(container.getName())
                .withNewState().withNewRunning().withStartedAt(Instant.now().toString()).endRunning().endState()
                .endContainerStatus().endStatus()
                .build();
        client.pods().inNamespace(namespace).resource(pod).create();
        Process process = pb.start();
        processes.put(name, process);
        setStatus(name, new JobStatusBuilder().withActive(1).withStartTime(Instant.now().toString()).build());

        int exit = process.waitFor();
        processes.remove(name);
        boolean ok = exit == 0;
        retryOnConflict(() -> client.pods().inNamespace(namespace).withName(podName).editStatus(p -> new PodBuilder(p)
                .editStatus().withPhase(ok ? "Succeeded" : "Failed").withContainerStatuses().addNewContainerStatus()
                .withName(container.getName()).withNewState().withNewTerminated().withExitCode(exit)
                .withReason(ok ? "Completed" : "Error").endTerminated().endState().endContainerStatus().endStatus()
                .build()));
        setStatus(name, ok
                ? new JobStatusBuilder().withSucceeded(1).withCompletionTime(Instant.now().toString())
                        .addNewCondition().withType("Complete").withStatus("True").endCondition().build()
                : new JobStatusBuilder().withFailed(1).addNewCondition().withType("Failed").withStatus("True")
                        .withReason("BackoffLimitExceeded").withMessage("Job has reached the specified backoff limit")
                        .endCondition().build());
    }

    private String value(EnvVar env) {
        if (env.getValueFrom() == null || env.getValueFrom().getSecretKeyRef() == null) {
            return env.getValue() == null ? "" : env.getValue();
        }
        SecretKeySelector ref = env.getValueFrom().getSecretKeyRef();
        Secret secret = client.secrets().inNamespace(namespace).withName(ref.getName()).get();
        if (secret == null) {
            throw new IllegalStateException("Secret " + ref.getName() + " of env " + env.getName() + " not found");
        }
        if (secret.getStringData() != null && secret.getStringData().containsKey(ref.getKey())) {
            return secret.getStringData().get(ref.getKey());
        }
        return new String(Base64.getDecoder().decode(secret.getData().get(ref.getKey())), StandardCharsets.UTF_8);
    }

    private void setStatus(String name, JobStatus status) {
        retryOnConflict(() -> client.batch().v1().jobs().inNamespace(namespace).withName(name)
                .editStatus(j -> new JobBuilder(j).withStatus(status).build()));
    }

    /** Like the real controllers, writes again when someone else's update (the launcher's) came first. */
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

    @Override
    public void close() throws InterruptedException {
        if (informer != null) {
            informer.close();
        }
        processes.values().forEach(Process::destroy);
        pods.shutdownNow();
        pods.awaitTermination(10, TimeUnit.SECONDS);
    }
}
