package dev.quiver.jobs;

import dev.quiver.http.ObjectIds;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.files.FileService;
import dev.quiver.files.StoredFile;
import dev.quiver.finetune.runner.RunnerSpec;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterService;
import dev.quiver.http.ApiException;
import dev.quiver.serving.BaseModel;
import dev.quiver.serving.Serving;
import dev.quiver.serving.ServingLimits;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.event.ApplicationEventPublisher;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fine-tuning job state machine. Statuses only move forward
 * (validating_files -> queued -> running -> succeeded | failed | cancelled, or straight to cancelled),
 * every move is one transaction guarded by the row version, so no job is lost or run twice.
 */
@Singleton
public class JobService {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JobRepository jobs;
    private final JobEventRepository events;
    private final JobCheckpointRepository checkpoints;
    private final FileService files;
    private final BaseModel baseModel;
    private final AdapterService adapters;
    private final List<FineTunedAdapterListener> listeners;
    private final BeanProvider<Serving> serving;
    private final ApplicationEventPublisher<JobCheckpointSaved> checkpointSaved;
    private final ApplicationEventPublisher<JobSucceeded> succeeded;

    public JobService(JobRepository jobs, JobEventRepository events, JobCheckpointRepository checkpoints,
                      FileService files, BaseModel baseModel, AdapterService adapters,
                      List<FineTunedAdapterListener> listeners, BeanProvider<Serving> serving,
                      ApplicationEventPublisher<JobCheckpointSaved> checkpointSaved,
                      ApplicationEventPublisher<JobSucceeded> succeeded) {
        this.serving = serving;
        this.checkpointSaved = checkpointSaved;
        this.succeeded = succeeded;
        this.adapters = adapters;
        this.listeners = listeners;
        this.jobs = jobs;
        this.events = events;
        this.checkpoints = checkpoints;
        this.files = files;
        this.baseModel = baseModel;
    }

    /** Validates a create request and queues the job; a bad field is a 400 naming it. */
    @Transactional
    public FineTuningJob create(String projectId, JobViews.CreateJob request) {
        if (request.model() == null || !request.model().equals(baseModel.name())) {
            throw ApiException.invalid("model", "model '" + request.model() + "' cannot be fine-tuned here;"
                    + " this deployment's base model is '" + baseModel.name() + "'");
        }
        if (request.trainingFile() == null) {
            throw ApiException.invalid("training_file", "training_file is required");
        }
        StoredFile training = file(projectId, "training_file", request.trainingFile());
        if (request.validationFile() != null) {
            file(projectId, "validation_file", request.validationFile());
        }
        String suffix = request.suffix();
        if (suffix != null && !suffix.matches("[a-zA-Z0-9_-]{1,40}")) {
            throw ApiException.invalid("suffix", "suffix must be 1-40 letters, digits, '-' or '_', got '" + suffix
                    + "'");
        }
        String task = request.task();
        if (task != null && !task.matches("[a-zA-Z0-9_-]{1,64}")) {
            throw ApiException.invalid("task", "task must be a tool-safe name (letters, digits, '-', '_')");
        }
        RunnerSpec.Hyperparameters hyper = Hyperparameters.validate(request.hyperparameters());
        requireServable(hyper);
        long seed = request.seed() != null ? request.seed() : ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE);
        String id = ObjectIds.next("ftjob-", 12);
        FineTuningJob job = jobs.save(new FineTuningJob(id, projectId, request.model(), request.trainingFile(),
                request.validationFile(), suffix, seed, task, Hyperparameters.store(hyper), Instant.now()));
        event(job.getId(), "info", "message", "Validating training file: " + training.getId() + " ("
                + training.getExamples() + " examples, " + training.getTokens() + " tokens)", null);
        job.setStatus(JobStatus.QUEUED);
        event(job.getId(), "info", "message", "Files validated, moving job to queued state", null);
        return jobs.update(job);
    }

    /**
     * Refuses a job whose adapter the serving tier could not hold, with serving's own limits, before it
     * trains: otherwise it would succeed and register, and every completion on it would fail. The check uses
     * what the trainer will train (its defaults for auto). Without a serving tier to ask there is nothing to
     * check against.
     */
    private void requireServable(RunnerSpec.Hyperparameters requested) {
        if (!serving.isPresent()) {
            return;
        }
        ServingLimits limits = serving.get().limits();
        dev.quiver.finetune.Hyperparameters trained = requested.toTrainer();
        String rank = requested.loraRank() == null ? "\"auto\" (rank " + trained.loraRank() + ")"
                : Integer.toString(trained.loraRank());
        if (trained.loraRank() > limits.maxLoraRank()) {
            throw ApiException.invalid("hyperparameters.lora_rank", "hyperparameters.lora_rank " + rank
                    + " is above " + limits.maxLoraRank() + ", the largest LoRA rank the serving tier holds"
                    + " (quiver.serving.max-lora-rank); set lora_rank to at most " + limits.maxLoraRank());
        }
        List<String> unserved = trained.resolvedTargetModules().stream()
                .filter(m -> !limits.loraTargets().contains(m)).toList();
        if (!unserved.isEmpty()) {
            throw ApiException.invalid("hyperparameters.target_modules", "hyperparameters.target_modules "
                    + (requested.targetModules() == null ? "\"auto\" (all-linear) " : "")
                    + "includes " + unserved + ", which the serving tier has no LoRA branch for; it serves "
                    + limits.loraTargets() + ", so set target_modules to some of those");
        }
    }

    private StoredFile file(String projectId, String field, String id) {
        try {
            return files.get(projectId, id);
        } catch (ApiException e) {
            throw ApiException.invalid(field, "file '" + id + "' does not exist in this project; upload it with"
                    + " POST /v1/files first");
        }
    }

    @ReadOnly
    public FineTuningJob get(String projectId, String id) {
        return jobs.findByIdAndProjectId(id, projectId).orElseThrow(() -> ApiException.notFound("fine-tuning job",
                id));
    }

    /** A job by id for internal callers (runner, scheduler); empty if unknown. */
    @ReadOnly
    public Optional<FineTuningJob> find(String id) {
        return jobs.findById(id);
    }

    /** Newest first, after the job {@code after} (exclusive), at most {@code limit}. */
    @ReadOnly
    public List<FineTuningJob> list(String projectId, String after, int limit) {
        List<FineTuningJob> all = jobs.findByProjectIdOrderByCreatedAtDesc(projectId);
        int start = 0;
        if (after != null) {
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).getId().equals(after)) {
                    start = i + 1;
                    break;
                }
            }
        }
        return all.subList(Math.min(start, all.size()), Math.min(all.size(), start + limit + 1));
    }

    /** Cancels a job that has not finished; returns it with its previous launcher reference. */
    @Transactional
    public FineTuningJob cancel(String projectId, String id) {
        FineTuningJob job = get(projectId, id);
        if (job.getStatus().isTerminal()) {
            throw ApiException.conflict("job " + id + " is already " + job.getStatus().wireName()
                    + " and cannot be cancelled");
        }
        job.setStatus(JobStatus.CANCELLED);
        job.setFinishedAt(Instant.now());
        event(id, "info", "message", "Job cancelled by the user", null);
        return jobs.update(job);
    }

    @ReadOnly
    public List<JobEvent> events(String projectId, String id, long afterEventId) {
        get(projectId, id);
        return events.findByJobIdAndIdGreaterThanOrderById(id, afterEventId);
    }

    @ReadOnly
    public List<JobCheckpoint> checkpoints(String projectId, String id) {
        get(projectId, id);
        return checkpoints.findByJobIdOrderByStepDesc(id);
    }

    /**
     * Appends the runner's event number {@code seq} to the job's log and counts it as a heartbeat; false if the
     * log already has that number (a report resent after its answer was lost), which is then stored once.
     */
    @Transactional
    public boolean runnerEvent(String jobId, long seq, String level, String type, String message, Object data) {
        jobs.updateHeartbeat(jobId, Instant.now());
        if (events.existsByJobIdAndSeq(jobId, seq)) {
            return false;
        }
        events.save(new JobEvent(jobId, seq, Instant.now(), level, type, message, json(data)));
        return true;
    }

    /** The sequence number the job's next runner event gets: numbers continue across attempts. */
    @ReadOnly
    public long nextEventSeq(String jobId) {
        return events.maxSeq(jobId).orElse(0L) + 1;
    }

    /** Records that the job's runner was heard from now. */
    @Transactional
    public void heartbeat(String jobId) {
        jobs.updateHeartbeat(jobId, Instant.now());
    }

    /** Appends an event to a job's log. */
    @Transactional
    public void event(String jobId, String level, String type, String message, Object data) {
        events.save(new JobEvent(jobId, Instant.now(), level, type, message, json(data)));
    }

    private static String json(Object data) {
        if (data == null) {
            return null;
        }
        try {
            return data instanceof String s ? s : JSON.writeValueAsString(data);
        } catch (Exception e) {
            return null;
        }
    }

    /** Oldest queued jobs first. */
    @ReadOnly
    public List<FineTuningJob> queued() {
        return jobs.findByStatusOrderByCreatedAt(JobStatus.QUEUED);
    }

    @ReadOnly
    public List<FineTuningJob> running() {
        return jobs.findByStatusOrderByCreatedAt(JobStatus.RUNNING);
    }

    @ReadOnly
    public long count(JobStatus status) {
        return jobs.countByStatus(status);
    }

    /**
     * Moves a queued job to running with its runner token; false if someone else moved it first (the
     * version check makes the claim exclusive).
     */
    @Transactional
    public boolean claim(String jobId, String runnerTokenHash) {
        FineTuningJob job = jobs.findById(jobId).orElse(null);
        if (job == null || job.getStatus() != JobStatus.QUEUED) {
            return false;
        }
        job.setStatus(JobStatus.RUNNING);
        job.setAttempt(job.getAttempt() + 1);
        job.setRunnerTokenHash(runnerTokenHash);
        if (job.getStartedAt() == null) {
            job.setStartedAt(Instant.now());
        }
        jobs.update(job);
        // the stall clock of this attempt starts when its runner first calls: a pod may wait long for a GPU
        jobs.updateHeartbeat(jobId, null);
        event(jobId, "info", "message", "Fine-tuning job started (attempt " + job.getAttempt() + ")", null);
        return true;
    }

    @Transactional
    public void setLauncherRef(String jobId, String ref) {
        jobs.findById(jobId).ifPresent(j -> {
            j.setLauncherRef(ref);
            jobs.update(j);
        });
    }

    /** Marks a job failed unless it already ended. */
    @Transactional
    public void fail(String jobId, String code, String message) {
        FineTuningJob job = jobs.findById(jobId).orElse(null);
        if (job == null || job.getStatus().isTerminal()) {
            return;
        }
        job.setStatus(JobStatus.FAILED);
        job.setError(code, message);
        job.setFinishedAt(Instant.now());
        jobs.update(job);
        event(jobId, "error", "message", "Fine-tuning job failed: " + message, null);
    }

    /**
     * Puts a running job back in the queue (its runner died or stalled); the event says where the next attempt
     * starts: after the newest checkpoint, or at step 1 when there is none.
     */
    @Transactional
    public void requeue(String jobId, String reason) {
        FineTuningJob job = jobs.findById(jobId).orElse(null);
        if (job == null || job.getStatus() != JobStatus.RUNNING) {
            return;
        }
        job.setStatus(JobStatus.QUEUED);
        job.setLauncherRef(null);
        jobs.update(job);
        String from = checkpoints.findByJobIdOrderByStepDesc(jobId).stream().findFirst()
                .map(c -> "; re-queued to resume from its checkpoint at step " + c.getStep())
                .orElse("; re-queued to start again at step 1, as it has no checkpoint yet");
        event(jobId, "warn", "message", reason + from, null);
    }

    /** Records the fine-tuned model name and the success, in the caller's transaction. */
    @Transactional
    public void succeed(String jobId, String fineTunedModel, long trainedTokens) {
        FineTuningJob job = jobs.findById(jobId).orElseThrow();
        if (job.getStatus() != JobStatus.RUNNING) {
            throw ApiException.conflict("job " + jobId + " is " + job.getStatus().wireName() + ", not running");
        }
        job.setStatus(JobStatus.SUCCEEDED);
        job.setFineTunedModel(fineTunedModel);
        job.setTrainedTokens(trainedTokens);
        job.setFinishedAt(Instant.now());
        jobs.update(job);
        event(jobId, "info", "message", "The job has successfully completed; fine-tuned model: " + fineTunedModel,
                null);
    }

    /**
     * Registers the trained adapter, marks the job succeeded and tells the {@link FineTunedAdapterListener}s
     * (a task moves to the adapter) in one transaction, {@link JobSucceeded} going out once it commits; if any of it
     * fails, the adapter's files are removed again, so there is never an adapter without its job's success or the reverse.
     */
    @Transactional
    public AdapterRecord completeWithAdapter(FineTuningJob job, String name, Path staged, long trainedTokens) {
        AdapterRecord record = adapters.register(job.getProjectId(), name, job.getId(), staged);
        try {
            for (FineTunedAdapterListener listener : listeners) {
                listener.onFineTuned(job, record).ifPresent(line -> event(job.getId(), "info", "message", line,
                        null));
            }
            succeed(job.getId(), record.getName(), trainedTokens);
            succeeded.publishEvent(new JobSucceeded(job.getId(), record.getName() + "@" + record.getVersion()));
        } catch (RuntimeException e) {
            adapters.discardFiles(record);
            throw e;
        }
        return record;
    }

    /** Stores a checkpoint the runner uploaded; {@link JobCheckpointSaved} tells listeners once it commits. */
    @Transactional
    public void checkpoint(String jobId, int step, String sha256, String metricsJson) {
        JobCheckpoint saved = checkpoints.save(new JobCheckpoint(ObjectIds.next("ftckpt-", 10), jobId, step, sha256,
                metricsJson, Instant.now()));
        checkpointSaved.publishEvent(new JobCheckpointSaved(jobId, saved.getId()));
    }

    /** A checkpoint by id for internal callers; empty if unknown. */
    @ReadOnly
    public Optional<JobCheckpoint> checkpoint(String checkpointId) {
        return checkpoints.findById(checkpointId);
    }

    /** Records that a checkpoint was registered as {@code adapter} and evaluated: its metrics with the scores. */
    @Transactional
    public void checkpointEvaluated(String checkpointId, String adapter, String metricsJson) {
        JobCheckpoint c = checkpoints.findById(checkpointId).orElseThrow();
        c.evaluated(adapter, metricsJson);
        checkpoints.update(c);
    }

    /** Records the job's best checkpoint (JSON), as its result shows it. */
    @Transactional
    public void bestCheckpoint(String jobId, String json) {
        jobs.updateBestCheckpoint(jobId, json);
    }
}
