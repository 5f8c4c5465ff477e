package dev.quiver.jobs.kubernetes;

import dev.quiver.jobs.JobService;
import dev.quiver.jobs.Launcher;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.micronaut.context.annotation.Requires;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each job attempt as a {@code batch/v1} Job ({@code quiver train}) with its token in a Secret owned by
 * the Job. The reference is the Job's name. It reconciles in the sense of an operator: the cluster is the
 * truth (informer caches, the API server on a miss), a launch that finds its attempt's Job adopts it instead
 * of starting a second one, and every phase change of a Job becomes one event in the job's log.
 */
@Singleton
@Requires(property = "quiver.jobs.launcher", value = "kubernetes")
public class KubernetesLauncher implements Launcher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesLauncher.class);
    /** The last phase reported to the job's log, kept on the Job so a restarted control plane does not repeat it. */
    static final String REPORTED = "quiver.dev/reported-phase";
    private static final String BY_ATTEMPT = "quiver-attempt";
    private static final long RESYNC_MILLIS = 10 * 60_000L;

    /** Where the launcher writes what it sees: the fine-tuning job's event log. */
    @FunctionalInterface
    public interface EventLog {
        void append(String jobId, String level, String message, Map<String, Object> data);
    }

    private final KubernetesClient client;
    private final KubernetesConfig config;
    private final RunnerManifests manifests;
    private final String namespace;
    private final EventLog events;
    private final Map<String, RunnerState.Phase> reported = new ConcurrentHashMap<>();
    /** Reasons of runners this launcher ended itself (stuck pods), told once the Job is gone. */
    private final Map<String, String> failures = Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 1000;
        }
    });
    private SharedIndexInformer<Job> jobInformer;
    private SharedIndexInformer<Pod> podInformer;
    private volatile boolean closed;

    @Inject
    public KubernetesLauncher(KubernetesClient client, KubernetesConfig config, Provider<JobService> jobs) {
        this(client, config, (jobId, level, message, data) -> jobs.get().event(jobId, level, "message", message,
                data));
    }

    public KubernetesLauncher(KubernetesClient client, KubernetesConfig config, EventLog events) {
        this.client = client;
        this.config = config;
        this.manifests = new RunnerManifests(config);
        this.events = events;
        String ns = config.namespace();
        this.namespace = ns != null && !ns.isBlank() ? ns
                : client.getNamespace() != null ? client.getNamespace() : "default";
    }

    /** Starts watching this launcher's Jobs and their pods; without it every question goes to the API server. */
    @PostConstruct
    public void start() {
        podInformer = client.pods().inNamespace(namespace).withLabel(RunnerManifests.MANAGED_BY, RunnerManifests.MANAGER)
                .runnableInformer(RESYNC_MILLIS);
        podInformer.addIndexers(Map.of(BY_ATTEMPT, pod -> List.of(attemptKey(pod))));
        podInformer.addEventHandler(handler(pod -> job(jobName(pod)).ifPresent(this::observe), pod -> { }));
        jobInformer = client.batch().v1().jobs().inNamespace(namespace)
                .withLabel(RunnerManifests.MANAGED_BY, RunnerManifests.MANAGER).runnableInformer(RESYNC_MILLIS);
        jobInformer.addEventHandler(handler(this::observe, job -> reported.remove(job.getMetadata().getName())));
        podInformer.start().whenComplete((v, e) -> logStart("pods", e));
        jobInformer.start().whenComplete((v, e) -> logStart("jobs", e));
    }

    /** Whether both caches hold the cluster's state. */
    public boolean synced() {
        return jobInformer != null && jobInformer.hasSynced() && podInformer.hasSynced();
    }

    @Override
    @PreDestroy
    public void close() {
        closed = true;
        if (jobInformer != null) {
            jobInformer.close();
            podInformer.close();
        }
    }

    @Override
    public String launch(LaunchRequest request) throws IOException {
        String name = RunnerManifests.jobName(request.jobId(), request.attempt());
        String url = config.controlPlaneUrl() != null && !config.controlPlaneUrl().isBlank()
                ? config.controlPlaneUrl() : request.controlPlaneUrl();
        Secret secret = manifests.tokenSecret(namespace, request);
        try {
            Optional<Job> existing = client.batch().v1().jobs().inNamespace(namespace)
                    .withLabel(RunnerManifests.JOB_ID, request.jobId())
                    .withLabel(RunnerManifests.ATTEMPT, Integer.toString(request.attempt()))
                    .list().getItems().stream().findFirst();
            if (existing.isPresent()) {
                // a launch that got as far as the Job before: adopt it, and give it this launch's token
                Job job = existing.get();
                client.secrets().inNamespace(namespace).resource(secret).createOr(NonDeletingOperation::update);
                own(secret, job);
                append(job, "info", "Kubernetes Job " + job.getMetadata().getName() + " for attempt "
                        + request.attempt() + " already exists; adopting it instead of starting another", null);
                return job.getMetadata().getName();
            }
            client.secrets().inNamespace(namespace).resource(secret).createOr(NonDeletingOperation::update);
            Job created;
            try {
                created = client.batch().v1().jobs().inNamespace(namespace)
                        .resource(manifests.job(namespace, request, url)).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                    deleteQuietly(client.secrets().inNamespace(namespace).withName(secret.getMetadata().getName()));
                    throw e;
                }
                created = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
            }
            own(secret, created);
            append(created, "info", "Created Kubernetes Job " + name + " in namespace " + namespace + " (image "
                    + config.image() + (config.gpuCount() > 0 ? ", " + config.gpuCount() + " x " + config.gpuResource()
                    : ", no GPU") + (blank(config.kueueQueue()) ? "" : ", Kueue queue " + config.kueueQueue()) + ")",
                    null);
            return name;
        } catch (KubernetesClientException e) {
            throw new IOException("cannot create Kubernetes Job " + name + " in namespace " + namespace + ": "
                    + describe(e), e);
        }
    }

    @Override
    public boolean isAlive(String ref) {
        if (failures.containsKey(ref)) {
            return false;
        }
        Optional<Job> job = job(ref);
        RunnerState state = state(job.orElse(null));
        if (state.phase() == RunnerState.Phase.STUCK) {
            giveUp(job.get(), state);
        }
        return state.alive();
    }

    @Override
    public Optional<String> failureReason(String ref) {
        String known = failures.get(ref);
        if (known != null) {
            return Optional.of(known);
        }
        RunnerState state = state(job(ref).orElse(null));
        if (state.alive()) {
            return Optional.empty();
        }
        return Optional.of(state.phase() == RunnerState.Phase.SUCCEEDED
                ? state.message() + ", but the runner did not report a result" : state.message());
    }

    @Override
    public void cancel(String ref) {
        deleteQuietly(client.batch().v1().jobs().inNamespace(namespace).withName(ref));
        deleteQuietly(client.secrets().inNamespace(namespace).withName(RunnerManifests.secretName(ref)));
    }

    /** The runner's state as the cluster tells it, for the job's Kubernetes Job name. */
    RunnerState state(String ref) {
        return state(job(ref).orElse(null));
    }

    private RunnerState state(Job job) {
        return RunnerState.of(job, job == null ? List.of() : pods(job));
    }

    /**
     * Reports a phase change of a Job to its fine-tuning job's log, once per phase, and ends stuck runners.
     * Synchronized: the pod and the Job informers call it from their own threads, and the check-then-report
     * must not interleave (it did: one phase reported twice).
     */
    private synchronized void observe(Job job) {
        String name = job.getMetadata().getName();
        RunnerState state = state(job);
        RunnerState.Phase before = reported.get(name);
        if (before == null) {
            before = Optional.ofNullable(job.getMetadata().getAnnotations()).map(a -> a.get(REPORTED))
                    .flatMap(KubernetesLauncher::phase).orElse(null);
        }
        if (state.phase() == before) {
            reported.put(name, before);
            return;
        }
        reported.put(name, state.phase());
        String level = switch (state.phase()) {
            case FAILED -> "error";
            case UNSCHEDULABLE, STUCK -> "warn";
            default -> "info";
        };
        append(job, level, capitalised(state.message()), state.phase());
        try {
            client.batch().v1().jobs().inNamespace(namespace).withName(name)
                    .edit(j -> new JobBuilder(j).editMetadata().addToAnnotations(REPORTED, state.phase().name())
                            .endMetadata().build());
        } catch (KubernetesClientException e) {
            LOG.debug("cannot mark Job {} as reported: {}", name, describe(e));
        }
        if (state.phase() == RunnerState.Phase.STUCK) {
            giveUp(job, state);
        }
    }

    /** Deletes a Job that cannot get anywhere, so its pod frees its node, and keeps the reason to tell. */
    private void giveUp(Job job, RunnerState state) {
        String name = job.getMetadata().getName();
        failures.put(name, state.message());
        LOG.info("giving up on Kubernetes Job {}: {}", name, state.message());
        cancel(name);
    }

    private Optional<Job> job(String name) {
        if (name == null) {
            return Optional.empty();
        }
        if (jobInformer != null) {
            Job cached = jobInformer.getStore().getByKey(namespace + "/" + name);
            if (cached != null) {
                return Optional.of(cached);
            }
        }
        // not in the cache: just created, the cache not synced yet, or really gone
        return Optional.ofNullable(client.batch().v1().jobs().inNamespace(namespace).withName(name).get());
    }

    private List<Pod> pods(Job job) {
        Map<String, String> labels = job.getMetadata().getLabels();
        if (labels == null || !labels.containsKey(RunnerManifests.JOB_ID)) {
            return List.of();
        }
        if (podInformer != null && podInformer.hasSynced()) {
            return podInformer.getIndexer().byIndex(BY_ATTEMPT, attemptKey(job));
        }
        return client.pods().inNamespace(namespace).withLabel(RunnerManifests.JOB_ID, labels.get(RunnerManifests.JOB_ID))
                .withLabel(RunnerManifests.ATTEMPT, labels.get(RunnerManifests.ATTEMPT)).list().getItems();
    }

    private void own(Secret secret, Job job) {
        if (job.getMetadata().getUid() == null) {
            return;
        }
        var owner = new OwnerReferenceBuilder().withApiVersion("batch/v1").withKind("Job")
                .withName(job.getMetadata().getName()).withUid(job.getMetadata().getUid()).build();
        client.secrets().inNamespace(namespace).withName(secret.getMetadata().getName())
                .edit(s -> new SecretBuilder(s).editMetadata().withOwnerReferences(owner).endMetadata().build());
    }

    private void append(Job job, String level, String message, RunnerState.Phase phase) {
        Map<String, String> labels = job.getMetadata().getLabels();
        String jobId = labels == null ? null : labels.get(RunnerManifests.JOB_ID);
        if (jobId == null) {
            return;
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kubernetes_job", job.getMetadata().getName());
        data.put("namespace", namespace);
        data.put("attempt", labels.get(RunnerManifests.ATTEMPT));
        if (phase != null) {
            data.put("phase", phase.name().toLowerCase(java.util.Locale.ROOT));
        }
        try {
            events.append(jobId, level, message, data);
        } catch (RuntimeException e) {
            LOG.warn("cannot record event for job {}: {}", jobId, e.getMessage());
        }
    }

    private static void deleteQuietly(io.fabric8.kubernetes.client.dsl.Resource<? extends HasMetadata> resource) {
        try {
            resource.withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
                throw e;
            }
        }
    }

    private static <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<T> changed, Consumer<T> deleted) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                safely(changed, obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                safely(changed, newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                safely(deleted, obj);
            }
        };
    }

    private static <T extends HasMetadata> void safely(Consumer<T> action, T obj) {
        try {
            action.accept(obj);
        } catch (RuntimeException e) {
            LOG.warn("cannot reconcile {} {}: {}", obj.getKind(), obj.getMetadata().getName(), e.getMessage(), e);
        }
    }

    private static String jobName(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        return labels == null || !labels.containsKey(RunnerManifests.JOB_ID) ? null
                : RunnerManifests.jobName(labels.get(RunnerManifests.JOB_ID),
                Integer.parseInt(labels.getOrDefault(RunnerManifests.ATTEMPT, "0")));
    }

    private static String attemptKey(HasMetadata object) {
        Map<String, String> labels = object.getMetadata().getLabels();
        return labels == null ? "" : labels.get(RunnerManifests.JOB_ID) + "/" + labels.get(RunnerManifests.ATTEMPT);
    }

    private static Optional<RunnerState.Phase> phase(String name) {
        try {
            return Optional.of(RunnerState.Phase.valueOf(name));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private void logStart(String what, Throwable error) {
        if (error != null && !closed) {
            LOG.warn("cannot watch Kubernetes {} (check the control plane's RBAC): {}", what, error.getMessage());
        }
    }

    private static String describe(KubernetesClientException e) {
        if (e.getStatus() != null && e.getStatus().getMessage() != null) {
            return e.getStatus().getMessage() + " (HTTP " + e.getCode() + ")";
        }
        return e.getMessage();
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static String capitalised(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
