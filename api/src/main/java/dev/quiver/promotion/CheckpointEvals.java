package dev.quiver.promotion;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.blob.BlobStore;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.datasets.DatasetService;
import dev.quiver.evals.Eval;
import dev.quiver.evals.EvalRunner;
import dev.quiver.evals.EvalService;
import dev.quiver.evals.EvalViews;
import dev.quiver.finetune.FineTune;
import dev.quiver.http.ApiException;
import dev.quiver.jobs.FineTuningJob;
import dev.quiver.jobs.JobCheckpoint;
import dev.quiver.jobs.JobCheckpointSaved;
import dev.quiver.jobs.JobService;
import dev.quiver.jobs.JobSucceeded;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterService;
import dev.quiver.server.Background;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskRepository;
import io.micronaut.transaction.annotation.TransactionalEventListener;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates the checkpoints of a task's fine-tuning job on the job's held-out file, with the evals of
 * {@code /v1/evals} through the serving tier: each uploaded checkpoint is registered as an adapter named as OpenAI
 * names checkpoints ({@code ft:MODEL:SUFFIX:JOB:ckpt-step-N}) and evaluated, its scores go to the checkpoint's
 * metrics and the job's events; once the job succeeds its final adapter is evaluated too, and the best of them on
 * the task's metric is the job's {@code best_checkpoint}, the one the promotion gate judges. The held-out file is
 * the job's validation file, else the held-out file of the dataset its training file came from, else the task's
 * promotion eval file; a job without a task or any of these is not evaluated.
 */
@Singleton
public class CheckpointEvals {
    /** The metric checkpoints are ranked by when the task has no promotion policy naming one. */
    static final String DEFAULT_METRIC = "agreement";
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointEvals.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ADAPTER_FILES = Set.of(LoraConfig.FILE, PeftAdapter.WEIGHTS_FILE);

    /** The best of a job's evaluated checkpoints and its final adapter on the held-out file. */
    public record Best(int step, String model, String metric, double score, String eval, String file,
                       boolean finalAdapter) {

        /** As the job object and its events show it. */
        Map<String, Object> view() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", step);
            m.put("fine_tuned_model_checkpoint", model);
            m.put("metric", metric);
            m.put("score", score);
            m.put("eval", eval);
            m.put("file", file);
            m.put("final", finalAdapter);
            return m;
        }
    }

    /** What a job is evaluated on, for a job that is. */
    private record Plan(FineTuningJob job, Task task, String file, String metric) {
    }

    private final JobService jobs;
    private final TaskRepository tasks;
    private final PromotionPolicyRepository policies;
    private final DatasetService datasets;
    private final EvalService evals;
    private final EvalRunner runner;
    private final AdapterService adapters;
    private final BlobStore blobs;
    /** One job's evals at a time, whichever thread asks: a checkpoint is never evaluated twice. */
    private final Object lock = new Object();
    private final ExecutorService executor = Background.singleThread("quiver-checkpoint-evals");

    public CheckpointEvals(JobService jobs, TaskRepository tasks, PromotionPolicyRepository policies,
                           DatasetService datasets, EvalService evals, EvalRunner runner, AdapterService adapters,
                           BlobStore blobs) {
        this.jobs = jobs;
        this.tasks = tasks;
        this.policies = policies;
        this.datasets = datasets;
        this.evals = evals;
        this.runner = runner;
        this.adapters = adapters;
        this.blobs = blobs;
    }

    @TransactionalEventListener
    void onCheckpoint(JobCheckpointSaved saved) {
        executor.submit(() -> guarded(saved.jobId(), () -> {
            synchronized (lock) {
                plan(saved.jobId()).ifPresent(p -> jobs.checkpoint(saved.checkpointId())
                        .ifPresent(c -> evaluate(p, c)));
            }
        }));
    }

    @TransactionalEventListener
    void onSucceeded(JobSucceeded succeeded) {
        executor.submit(() -> guarded(succeeded.jobId(), () -> best(succeeded.jobId(), succeeded.adapter())));
    }

    /**
     * The job's best checkpoint, evaluating what is not evaluated yet (its checkpoints, then {@code finalAdapter});
     * empty for a job without a task or a held-out file. Computed once, then read back.
     */
    public Optional<Best> best(String jobId, String finalAdapter) {
        synchronized (lock) {
            Optional<Plan> plan = plan(jobId);
            if (plan.isEmpty()) {
                return Optional.empty();
            }
            Plan p = plan.get();
            if (p.job().getBestCheckpoint() != null) {
                return Optional.of(read(p.job().getBestCheckpoint()));
            }
            List<JobCheckpoint> checkpoints = new ArrayList<>(jobs.checkpoints(p.job().getProjectId(), jobId));
            checkpoints.sort(Comparator.comparingInt(JobCheckpoint::getStep));
            List<Best> scored = new ArrayList<>();
            for (JobCheckpoint c : checkpoints) {
                evaluate(p, c).ifPresent(scored::add);
            }
            Eval last = evals.latest(p.task().getId(), finalAdapter, p.file())
                    .orElseGet(() -> run(p, finalAdapter));
            if (!Eval.SUCCEEDED.equals(last.getStatus())) {
                jobs.event(jobId, "warn", "message", "The final adapter " + finalAdapter + " could not be evaluated on "
                        + p.file() + " (" + last.getError() + "); no best checkpoint", null);
                return Optional.empty();
            }
            Best fin = new Best(finalSteps(p.job().getProjectId(), finalAdapter, checkpoints), finalAdapter,
                    p.metric(), EvalService.score(last, p.metric()), last.getId(), p.file(), true);
            Best best = fin;
            for (Best b : scored) {
                if (b.score() > best.score()) {
                    best = b; // a tie keeps the final adapter: it is what the job produced
                }
            }
            jobs.bestCheckpoint(jobId, write(best.view()));
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("best_checkpoint", best.view());
            data.put("final", Map.of("step", fin.step(), "model", fin.model(), "score", fin.score(), "eval", fin.eval()));
            jobs.event(jobId, "info", "metrics", "Best checkpoint on " + p.file() + ": step " + best.step() + " ("
                    + best.model() + (best.finalAdapter() ? ", the final adapter" : "") + "), " + p.metric() + " "
                    + fmt(best.score()) + (best.finalAdapter() ? "" : "; the final adapter scored " + fmt(fin.score())),
                    data);
            return Optional.of(best);
        }
    }

    /** Registers and evaluates one checkpoint unless it was already; its score, when it has one. */
    private Optional<Best> evaluate(Plan p, JobCheckpoint c) {
        String jobId = p.job().getId();
        Map<String, Object> metrics = metrics(c);
        if (c.getFineTunedModelCheckpoint() != null) {
            return metrics.get("eval") instanceof Map<?, ?> e && e.get(p.metric()) instanceof Number n
                    ? Optional.of(new Best(c.getStep(), c.getFineTunedModelCheckpoint(), p.metric(), n.doubleValue(),
                    String.valueOf(e.get("id")), p.file(), false)) : Optional.empty();
        }
        String model;
        try {
            model = register(p.job(), c);
        } catch (IOException | ApiException e) {
            jobs.event(jobId, "warn", "message", "Checkpoint step " + c.getStep() + " could not be registered for its"
                    + " eval: " + e.getMessage(), null);
            return Optional.empty();
        }
        Eval eval = run(p, model);
        if (!Eval.SUCCEEDED.equals(eval.getStatus())) {
            jobs.checkpointEvaluated(c.getId(), model, c.getMetrics());
            jobs.event(jobId, "warn", "message", "Checkpoint step " + c.getStep() + " (" + model + ") could not be"
                    + " evaluated on " + p.file() + ": " + eval.getError(), null);
            return Optional.empty();
        }
        Map<String, Object> scores = new LinkedHashMap<>();
        scores.put("id", eval.getId());
        scores.put("file", p.file());
        scores.putAll(EvalService.metrics(eval));
        metrics.put("eval", scores);
        jobs.checkpointEvaluated(c.getId(), model, write(metrics));
        double score = EvalService.score(eval, p.metric());
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("step", c.getStep());
        data.put("fine_tuned_model_checkpoint", model);
        data.put("eval", scores);
        jobs.event(jobId, "info", "metrics", String.format(Locale.ROOT, "Checkpoint step %d (%s) on %s: %s %.3f,"
                        + " exact_match %.3f, schema_validity %.3f (eval %s)", c.getStep(), model, p.file(), p.metric(),
                score, EvalService.score(eval, "exact_match"), EvalService.score(eval, "schema_validity"),
                eval.getId()), data);
        return Optional.of(new Best(c.getStep(), model, p.metric(), score, eval.getId(), p.file(), false));
    }

    private Eval run(Plan p, String model) {
        Eval eval = evals.create(p.job().getProjectId(), new EvalViews.Create(p.task().getName(), model, p.file()),
                p.job().getId());
        return runner.run(eval.getId());
    }

    /** The checkpoint's adapter (inside its archive) as a new adapter; its {@code name@version}. */
    private String register(FineTuningJob job, JobCheckpoint c) throws IOException {
        Path staged = adapters.newStagingDir();
        try (ZipInputStream in = new ZipInputStream(blobs.open(c.getSha256()))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                Path entry = Path.of(e.getName());
                if (!e.isDirectory() && entry.getNameCount() >= 2
                        && entry.getName(entry.getNameCount() - 2).toString().equals("adapter")
                        && ADAPTER_FILES.contains(entry.getFileName().toString())) {
                    Files.copy(in, staged.resolve(entry.getFileName().toString()));
                }
            }
        } catch (IOException | RuntimeException e) {
            adapters.discardStaging(staged);
            throw e;
        }
        AdapterRecord record = adapters.register(job.getProjectId(), job.adapterName() + ":ckpt-step-" + c.getStep(),
                job.getId(), staged);
        return record.getName() + "@" + record.getVersion();
    }

    private Optional<Plan> plan(String jobId) {
        FineTuningJob job = jobs.find(jobId).orElse(null);
        if (job == null || job.getTask() == null) {
            return Optional.empty();
        }
        Task task = tasks.findByProjectIdAndName(job.getProjectId(), job.getTask()).orElse(null);
        if (task == null) {
            return Optional.empty();
        }
        Optional<PromotionPolicy> policy = policies.findById(task.getId());
        Optional<String> file = Optional.ofNullable(job.getValidationFile())
                .or(() -> datasets.heldoutOf(job.getProjectId(), job.getTrainingFile()))
                .or(() -> policy.map(PromotionPolicy::getEvalFile));
        return file.map(f -> new Plan(job, task, f, policy.map(PromotionPolicy::getMetric).orElse(DEFAULT_METRIC)));
    }

    /** The final adapter's step: the steps its training ran (from its training metrics). */
    private int finalSteps(String projectId, String adapter, List<JobCheckpoint> checkpoints) {
        int last = checkpoints.stream().mapToInt(JobCheckpoint::getStep).max().orElse(0);
        try {
            AdapterRecord record = adapters.get(projectId, adapter);
            JsonNode m = JSON.readTree(adapters.dir(record).resolve(FineTune.METRICS_FILE).toFile());
            return Math.max(last, m.path("steps").asInt(last));
        } catch (IOException | ApiException e) {
            return last;
        }
    }

    private static Map<String, Object> metrics(JobCheckpoint c) {
        if (c.getMetrics() == null) {
            return new LinkedHashMap<>();
        }
        try {
            return JSON.readValue(c.getMetrics(), new TypeReference<LinkedHashMap<String, Object>>() {
            });
        } catch (JsonProcessingException e) {
            return new LinkedHashMap<>(); // the runner's metrics were not an object: the eval's stand alone
        }
    }

    private void guarded(String jobId, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("checkpoint evals of job {} failed", jobId, e);
            jobs.event(jobId, "warn", "message", "Checkpoint evals stopped: " + e.getMessage(), null);
        }
    }

    private static Best read(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            return new Best(n.path("step").asInt(), n.path("fine_tuned_model_checkpoint").asText(),
                    n.path("metric").asText(), n.path("score").asDouble(), n.path("eval").asText(),
                    n.path("file").asText(), n.path("final").asBoolean());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable best checkpoint " + json, e);
        }
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    @PreDestroy
    void stop() {
        executor.shutdownNow();
    }
}
