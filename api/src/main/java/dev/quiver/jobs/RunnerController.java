package dev.quiver.jobs;

import dev.quiver.adapters.blob.BlobRef;
import dev.quiver.adapters.blob.BlobStore;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.files.FileService;
import dev.quiver.files.StoredFile;
import dev.quiver.finetune.runner.RunnerSpec;
import dev.quiver.http.ApiException;
import dev.quiver.registry.AdapterRecord;
import dev.quiver.registry.AdapterService;
import dev.quiver.http.ApiException;
import dev.quiver.http.ApiExceptionHandler;
import dev.quiver.http.ErrorBody;
import dev.quiver.server.Hashes;
import dev.quiver.serving.BaseModel;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Error;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Part;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.http.server.types.files.StreamedFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.SerdeImport;
import io.micronaut.serde.annotation.Serdeable;
import io.swagger.v3.oas.annotations.Hidden;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API a job's runner talks to ({@code quiver train}): fetch the spec and data, report events and
 * heartbeats, upload checkpoints and the resulting adapter. Each call carries the job's own runner token, valid
 * only while the job is running, and counts as a heartbeat. The spec is finetune's {@link RunnerSpec}, the type
 * the runner reads. A call that fails here is logged with its job and cause, and answered with OpenAI's error
 * object: the runner retries it, and the operator finds out why in this log rather than in the runner's.
 */
@SerdeImport(RunnerSpec.class)
@SerdeImport(RunnerSpec.Hyperparameters.class)
@Hidden // the job runners' own channel, not an API for users
@Controller("/v1/internal/jobs/{id}")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RunnerController {
    private static final Logger LOG = LoggerFactory.getLogger(RunnerController.class);
    private static final Pattern JOB_PATH = Pattern.compile("/v1/internal/jobs/([^/]+)/.*");

    private final JobService jobs;
    private final FileService files;
    private final AdapterService adapters;
    private final BlobStore blobs;
    private final BaseModel baseModel;
    private final ApiExceptionHandler apiErrors;

    public RunnerController(JobService jobs, FileService files, AdapterService adapters, BlobStore blobs,
                            BaseModel baseModel, ApiExceptionHandler apiErrors) {
        this.apiErrors = apiErrors;
        this.jobs = jobs;
        this.files = files;
        this.adapters = adapters;
        this.blobs = blobs;
        this.baseModel = baseModel;
    }

    /**
     * An event the runner reports; {@code seq} numbers the job's runner events (a resent one is stored once),
     * null from an older runner.
     */
    @Serdeable
    public record RunnerEvent(@Nullable Long seq, String level, String type, String message, @Nullable Object data) {
    }

    /** A failure the runner reports. */
    @Serdeable
    public record Failure(String code, String message) {
    }

    @Get("/spec")
    public RunnerSpec spec(HttpRequest<?> request, @PathVariable String id) {
        FineTuningJob job = authorize(request, id);
        Integer resume = jobs.checkpoints(job.getProjectId(), id).stream().findFirst().map(JobCheckpoint::getStep)
                .orElse(null);
        return new RunnerSpec(id, job.getAttempt(), baseModel.path().toString(), baseModel.name(),
                job.getTrainingFile(), job.getValidationFile(), Hyperparameters.read(job.getHyperparameters()),
                job.getSeed(), resume, jobs.nextEventSeq(id));
    }

    @Get(value = "/files/{fileId}", produces = MediaType.APPLICATION_OCTET_STREAM)
    public StreamedFile file(HttpRequest<?> request, @PathVariable String id, @PathVariable String fileId)
            throws IOException {
        FineTuningJob job = authorize(request, id);
        if (!fileId.equals(job.getTrainingFile()) && !fileId.equals(job.getValidationFile())) {
            throw ApiException.notFound("file of this job", fileId);
        }
        StoredFile f = files.get(job.getProjectId(), fileId);
        return new StreamedFile(files.open(f), MediaType.APPLICATION_OCTET_STREAM_TYPE);
    }

    @Get(value = "/checkpoint", produces = MediaType.APPLICATION_OCTET_STREAM)
    public StreamedFile latestCheckpoint(HttpRequest<?> request, @PathVariable String id) throws IOException {
        FineTuningJob job = authorize(request, id);
        JobCheckpoint c = jobs.checkpoints(job.getProjectId(), id).stream().findFirst()
                .orElseThrow(() -> ApiException.notFound("checkpoint of job", id));
        return new StreamedFile(blobs.open(c.getSha256()), MediaType.APPLICATION_OCTET_STREAM_TYPE);
    }

    @Post("/events")
    public Map<String, Object> event(HttpRequest<?> request, @PathVariable String id, @Body RunnerEvent event) {
        authorize(request, id);
        String level = event.level() == null ? "info" : event.level();
        String type = event.type() == null ? "message" : event.type();
        String message = event.message() == null ? "" : event.message();
        if (event.seq() == null) {
            jobs.event(id, level, type, message, event.data());
            return Map.of("ok", true);
        }
        boolean stored = jobs.runnerEvent(id, event.seq(), level, type, message, event.data());
        return Map.of("ok", true, "duplicate", !stored);
    }

    /** The runner is alive and working; authorizing the call records that. */
    @Post("/heartbeat")
    public Map<String, Object> heartbeat(HttpRequest<?> request, @PathVariable String id) {
        authorize(request, id);
        return Map.of("ok", true);
    }

    /** A checkpoint archive (the trainer's checkpoint directory as a zip) at a step. */
    @Post("/checkpoints")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Map<String, Object> checkpoint(HttpRequest<?> request, @PathVariable String id, @Part("step") int step,
                                          @Nullable @Part("metrics") String metrics,
                                          @Part("file") CompletedFileUpload file) throws IOException {
        authorize(request, id);
        BlobRef blob;
        try (InputStream in = file.getInputStream()) {
            blob = blobs.put(in);
        }
        jobs.checkpoint(id, step, blob.sha256(), metrics);
        return Map.of("ok", true, "sha256", blob.sha256());
    }

    /** The trained adapter: registered and the job marked succeeded, together. */
    @Post("/result")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Map<String, Object> result(HttpRequest<?> request, @PathVariable String id,
                                      @Part("trained_tokens") long trainedTokens,
                                      @Part("adapter_config") CompletedFileUpload config,
                                      @Part("adapter_model") CompletedFileUpload weights,
                                      @Nullable @Part("metrics") CompletedFileUpload metrics) throws IOException {
        FineTuningJob job = authorize(request, id);
        Path staged = adapters.newStagingDir();
        try (InputStream c = config.getInputStream(); InputStream w = weights.getInputStream()) {
            Files.copy(c, staged.resolve(LoraConfig.FILE));
            Files.copy(w, staged.resolve(PeftAdapter.WEIGHTS_FILE));
            if (metrics != null) {
                try (InputStream m = metrics.getInputStream()) {
                    Files.copy(m, staged.resolve("training_metrics.json"));
                }
            }
        }
        AdapterRecord record = jobs.completeWithAdapter(job, job.adapterName(), staged, trainedTokens);
        return Map.of("fine_tuned_model", record.getName(), "adapter_id", record.getId());
    }

    @Post("/failure")
    public Map<String, Object> failure(HttpRequest<?> request, @PathVariable String id, @Body Failure failure) {
        authorize(request, id);
        jobs.fail(id, failure.code() == null ? "training_failed" : failure.code(), failure.message());
        return Map.of("ok", true);
    }

    private FineTuningJob authorize(HttpRequest<?> request, String id) {
        String token = request.getHeaders().getAuthorization().filter(h -> h.startsWith("Bearer "))
                .map(h -> h.substring(7)).orElse(null);
        FineTuningJob job = jobs.find(id).orElse(null);
        if (job == null || !Hashes.matches(token, job.getRunnerTokenHash())) {
            throw new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error",
                    "this call needs the job's runner token", null, "invalid_runner_token");
        }
        if (job.getStatus() != JobStatus.RUNNING) {
            throw new ApiException(HttpStatus.CONFLICT, "invalid_request_error", "job " + id + " is "
                    + job.getStatus().wireName() + "; stop training", null, "job_not_running");
        }
        jobs.heartbeat(id);
        return job;
    }

    /**
     * Every failure of a runner call: refusals as themselves; anything else is logged here with the job and its
     * cause, and the runner, which retries a 500, is told the kind of failure without a stack trace.
     */
    @Error
    public HttpResponse<ErrorBody> failed(HttpRequest<?> request, Throwable e) {
        if (e instanceof ApiException api) {
            return apiErrors.handle(request, api);
        }
        Matcher m = JOB_PATH.matcher(request.getPath());
        String job = m.matches() ? m.group(1) : "(unknown)";
        LOG.error("runner call {} {} of job {} failed: {}", request.getMethod(), request.getPath(), job,
                e.toString(), e);
        return HttpResponse.<ErrorBody>serverError().body(ErrorBody.of("the control plane failed to handle this"
                + " call of job " + job + " (" + e.getClass().getSimpleName() + "); its log has the cause",
                "server_error", null, null));
    }
}
