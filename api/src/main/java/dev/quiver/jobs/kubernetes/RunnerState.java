package dev.quiver.jobs.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a runner's Job and pods say about it, reduced to what the control plane acts on: whether it is still
 * alive (queued for admission, pending, unschedulable, running) and, when it is not, why.
 */
record RunnerState(Phase phase, String message) {

    /** The runner's phase as the control plane sees it. */
    enum Phase {
        /** Suspended until Kueue admits it. */
        WAITING_FOR_ADMISSION(true),
        /** Created, waiting for a pod, an image or a container to start. */
        PENDING(true),
        /** The scheduler cannot place the pod yet (no free GPU, no matching node). */
        UNSCHEDULABLE(true),
        RUNNING(true),
        /** The Job completed; the runner should have reported its result itself. */
        SUCCEEDED(false),
        /** Kubernetes gave up on the Job (backoff limit, deadline). */
        FAILED(false),
        /** Not failed in Kubernetes' eyes, but it cannot get anywhere (image cannot be pulled, bad config). */
        STUCK(false),
        /** The Job no longer exists (deleted, or removed after its TTL). */
        GONE(false);

        private final boolean alive;

        Phase(boolean alive) {
            this.alive = alive;
        }
    }

    /** Waiting reasons that retrying does not cure: the Job would stay pending for ever. */
    private static final Set<String> FATAL_WAITING = Set.of("ImagePullBackOff", "InvalidImageName",
            "ErrImageNeverPull", "CreateContainerConfigError");

    boolean alive() {
        return phase.alive;
    }

    /** Reads the state from a Job (null when it does not exist) and the pods it created. */
    static RunnerState of(Job job, List<Pod> pods) {
        if (job == null) {
            return new RunnerState(Phase.GONE, "its Kubernetes Job no longer exists (deleted, or removed after"
                    + " ttlSecondsAfterFinished)");
        }
        String name = job.getMetadata().getName();
        Optional<JobCondition> failed = condition(job, "Failed").or(() -> condition(job, "FailureTarget"));
        if (failed.isPresent()) {
            JobCondition c = failed.get();
            String detail = podFailure(pods).orElse(c.getMessage() == null ? "" : c.getMessage());
            return new RunnerState(Phase.FAILED, "Kubernetes Job " + name + " failed (" + c.getReason() + ")"
                    + (detail.isEmpty() ? "" : ": " + detail));
        }
        if (condition(job, "Complete").or(() -> condition(job, "SuccessCriteriaMet")).isPresent()
                || (job.getStatus() != null && job.getStatus().getSucceeded() != null
                && job.getStatus().getSucceeded() > 0)) {
            return new RunnerState(Phase.SUCCEEDED, "Kubernetes Job " + name + " completed");
        }
        if (Boolean.TRUE.equals(job.getSpec().getSuspend())) {
            String queue = job.getMetadata().getLabels() == null ? null
                    : job.getMetadata().getLabels().get(RunnerManifests.KUEUE_QUEUE);
            return new RunnerState(Phase.WAITING_FOR_ADMISSION, "Kubernetes Job " + name + " is suspended"
                    + (queue == null ? "" : ", waiting for Kueue to admit it from queue " + queue));
        }
        Pod pod = pods.stream().max(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp() == null
                ? "" : p.getMetadata().getCreationTimestamp())).orElse(null);
        if (pod == null) {
            return new RunnerState(Phase.PENDING, "Kubernetes Job " + name + " created, waiting for its pod");
        }
        return ofPod(name, pod);
    }

    private static RunnerState ofPod(String jobName, Pod pod) {
        String podName = pod.getMetadata().getName();
        String phase = pod.getStatus() == null || pod.getStatus().getPhase() == null ? "Pending"
                : pod.getStatus().getPhase();
        Optional<ContainerStateWaiting> waiting = containers(pod).stream()
                .filter(s -> s.getState() != null && s.getState().getWaiting() != null)
                .map(s -> s.getState().getWaiting()).findFirst();
        if (waiting.isPresent() && FATAL_WAITING.contains(waiting.get().getReason())) {
            return new RunnerState(Phase.STUCK, "pod " + podName + " cannot start: " + waiting.get().getReason()
                    + message(waiting.get().getMessage()));
        }
        switch (phase) {
            case "Running":
                return new RunnerState(Phase.RUNNING, "pod " + podName + " is running"
                        + (pod.getSpec() != null && pod.getSpec().getNodeName() != null
                        ? " on node " + pod.getSpec().getNodeName() : ""));
            case "Failed":
                // the Job controller retries within backoffLimit; the Job's Failed condition ends it
                return new RunnerState(Phase.PENDING, "pod " + podName + " failed ("
                        + podFailure(List.of(pod)).orElse("no reason given") + "); Kubernetes may retry it");
            case "Succeeded":
                return new RunnerState(Phase.RUNNING, "pod " + podName + " exited, Kubernetes Job " + jobName
                        + " is completing");
            default:
                Optional<PodCondition> unschedulable = podCondition(pod, "PodScheduled")
                        .filter(c -> "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason()));
                if (unschedulable.isPresent()) {
                    return new RunnerState(Phase.UNSCHEDULABLE, "pod " + podName + " cannot be scheduled yet"
                            + message(unschedulable.get().getMessage()));
                }
                return new RunnerState(Phase.PENDING, "pod " + podName + " is pending"
                        + waiting.map(w -> ": " + w.getReason() + message(w.getMessage())).orElse(""));
        }
    }

    /** The most telling reason a pod of the runner failed: evicted, preempted, OOMKilled, an exit code. */
    static Optional<String> podFailure(List<Pod> pods) {
        return pods.stream()
                .sorted(Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp() == null ? ""
                        : p.getMetadata().getCreationTimestamp()).reversed())
                .map(RunnerState::failureOf)
                .flatMap(Optional::stream)
                .findFirst();
    }

    private static Optional<String> failureOf(Pod pod) {
        String podName = pod.getMetadata().getName();
        Optional<PodCondition> disruption = podCondition(pod, "DisruptionTarget")
                .filter(c -> "True".equals(c.getStatus()));
        if (disruption.isPresent()) {
            String what = switch (String.valueOf(disruption.get().getReason())) {
                case "PreemptionByScheduler" -> "preempted by a higher-priority pod";
                case "DeletionByTaintManager" -> "evicted because its node was tainted";
                case "EvictionByEvictionAPI" -> "evicted (node drain or eviction API)";
                case "TerminationByKubelet" -> "terminated by the kubelet (node pressure or shutdown)";
                default -> "disrupted (" + disruption.get().getReason() + ")";
            };
            return Optional.of("pod " + podName + " was " + what + message(disruption.get().getMessage()));
        }
        if (pod.getStatus() != null && "Evicted".equals(pod.getStatus().getReason())) {
            return Optional.of("pod " + podName + " was evicted" + message(pod.getStatus().getMessage()));
        }
        for (ContainerStatus s : containers(pod)) {
            ContainerStateTerminated t = s.getState() == null ? null : s.getState().getTerminated();
            if (t == null && s.getLastState() != null) {
                t = s.getLastState().getTerminated();
            }
            if (t != null && "OOMKilled".equals(t.getReason())) {
                return Optional.of("pod " + podName + " ran out of memory (OOMKilled, exit code " + t.getExitCode()
                        + "); raise quiver.kubernetes.memory-limit or lower the batch size");
            }
            if (t != null && t.getExitCode() != null && t.getExitCode() != 0) {
                return Optional.of("pod " + podName + " exited with code " + t.getExitCode()
                        + (t.getReason() == null ? "" : " (" + t.getReason() + ")") + message(t.getMessage()));
            }
            ContainerStateWaiting w = s.getState() == null ? null : s.getState().getWaiting();
            if (w != null && FATAL_WAITING.contains(w.getReason())) {
                return Optional.of("pod " + podName + " cannot start: " + w.getReason() + message(w.getMessage()));
            }
        }
        return Optional.empty();
    }

    private static List<ContainerStatus> containers(Pod pod) {
        return pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null ? List.of()
                : pod.getStatus().getContainerStatuses();
    }

    private static Optional<JobCondition> condition(Job job, String type) {
        if (job.getStatus() == null || job.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return job.getStatus().getConditions().stream()
                .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus())).findFirst();
    }

    private static Optional<PodCondition> podCondition(Pod pod, String type) {
        if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return pod.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    private static String message(String message) {
        return message == null || message.isBlank() ? "" : ": " + message.strip();
    }
}
