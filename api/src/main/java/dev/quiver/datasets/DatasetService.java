package dev.quiver.datasets;

import dev.quiver.http.ObjectIds;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.capture.CaptureQueue;
import dev.quiver.capture.CapturedCall;
import dev.quiver.capture.CapturedCallRepository;
import dev.quiver.files.FileService;
import dev.quiver.files.StoredFile;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDefinition;
import dev.quiver.tasks.TaskOutputs;
import dev.quiver.tasks.TaskService;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Builds a task's datasets from the upstream's captured answers, those through the proxy and those the task's
 * fallback escalated alike (the statistics count the escalated): failed calls and answers its output schema
 * rejects are dropped, duplicates removed, the rest split by {@link DatasetSplitter} and stored as two
 * chat JSONL files in {@code /v1/files} (validated like any upload), ready for a fine-tuning job and an eval.
 */
@Singleton
public class DatasetService {
    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private static final Duration CAPTURE_WAIT = Duration.ofSeconds(10);

    private final TaskService tasks;
    private final CapturedCallRepository calls;
    private final CaptureQueue queue;
    private final TaskOutputs outputs;
    private final FileService files;
    private final TaskDatasetRepository datasets;
    private final DatasetDeletion deletion;

    public DatasetService(TaskService tasks, CapturedCallRepository calls, CaptureQueue queue, TaskOutputs outputs,
                          FileService files, TaskDatasetRepository datasets, DatasetDeletion deletion) {
        this.deletion = deletion;
        this.tasks = tasks;
        this.calls = calls;
        this.queue = queue;
        this.outputs = outputs;
        this.files = files;
        this.datasets = datasets;
    }

    /** Builds a dataset from the calls captured in the window; 400 when none are usable. */
    @Transactional
    public TaskDataset build(String projectId, String taskName, DatasetViews.Build request) {
        Task task = tasks.get(projectId, taskName);
        try {
            // the calls answered before this request belong in it, even if the writer has not stored them yet
            queue.awaitWritten(CAPTURE_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<CapturedCall> captured = calls.findByTaskIdAndSideAndCreatedAtBetweenOrderById(task.getId(),
                CapturedCall.UPSTREAM, request.since() == null ? Instant.EPOCH : request.since(),
                request.until() == null ? Instant.now().plusSeconds(1) : request.until());
        if (captured.isEmpty()) {
            throw ApiException.invalid("task", "task '" + taskName + "' has no calls captured through its upstream"
                    + (request.since() != null || request.until() != null ? " in that window" : "") + "; point an"
                    + " agent at /v1/tasks/" + taskName + "/upstream/chat/completions (capture on) first, or upload"
                    + " a JSONL file with POST /v1/files");
        }
        JsonNode schema = TaskDefinition.of(task).outputSchema();
        List<DatasetSplitter.Example> usable = new ArrayList<>();
        int failed = 0;
        int invalid = 0;
        for (CapturedCall call : captured) {
            if (!call.succeeded()) {
                failed++;
            } else if (outputs.read(schema, call.getOutput()).isEmpty()) {
                invalid++;
            } else {
                usable.add(example(call));
            }
        }
        if (usable.size() < 2) {
            throw ApiException.invalid("task", "task '" + taskName + "' has " + usable.size() + " usable captured"
                    + " calls (of " + captured.size() + ": " + failed + " failed, " + invalid + " rejected by its"
                    + " output_schema); a dataset needs at least 2");
        }
        DatasetSplitter.Split split = DatasetSplitter.split(usable, request.heldoutFraction(), request.seed());
        String id = ObjectIds.next("ds-", 10);
        StoredFile training = upload(projectId, id + "-train.jsonl", split.training());
        StoredFile heldout = upload(projectId, id + "-heldout.jsonl", split.heldout());
        int escalated = (int) captured.stream().filter(CapturedCall::escalated).count();
        DatasetViews.Statistics stats = new DatasetViews.Statistics(captured.size(), escalated, failed, invalid,
                split.exactDuplicates(), split.nearDuplicates(), split.groups(), split.training().size(),
                split.heldout().size());
        return datasets.save(new TaskDataset(id, projectId, task.getId(), training.getId(), heldout.getId(),
                write(stats), Instant.now()));
    }

    @ReadOnly
    public List<TaskDataset> list(String projectId, String taskName) {
        return datasets.findByTaskIdOrderByCreatedAtDesc(tasks.get(projectId, taskName).getId());
    }

    @ReadOnly
    public TaskDataset get(String projectId, String taskName, String id) {
        return datasets.findByIdAndTaskId(id, tasks.get(projectId, taskName).getId())
                .orElseThrow(() -> ApiException.notFound("dataset", id));
    }

    /** Whether {@code fileId} is the held-out file of a dataset: its references are then the upstream's answers. */
    @ReadOnly
    public boolean isHeldout(String projectId, String fileId) {
        return datasets.existsByProjectIdAndHeldoutFile(projectId, fileId);
    }

    /** The held-out file of the dataset whose training file is {@code trainingFile}, if it was built here. */
    @ReadOnly
    public Optional<String> heldoutOf(String projectId, String trainingFile) {
        return datasets.findFirstByProjectIdAndTrainingFile(projectId, trainingFile).map(TaskDataset::getHeldoutFile);
    }

    /** Deletes the dataset and its two files. */
    @Transactional
    public void delete(String projectId, String taskName, String id) {
        deletion.delete(get(projectId, taskName, id));
    }

    public static DatasetViews.Statistics statistics(TaskDataset dataset) {
        try {
            return JSON.readValue(dataset.getStatistics(), DatasetViews.Statistics.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("dataset " + dataset.getId() + " has unreadable statistics", e);
        }
    }

    private StoredFile upload(String projectId, String filename, List<DatasetSplitter.Example> examples) {
        String text = examples.stream().map(DatasetSplitter.Example::line).collect(Collectors.joining("\n", "", "\n"));
        return files.upload(projectId, filename, "fine-tune",
                new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static DatasetSplitter.Example example(CapturedCall call) {
        JsonNode request;
        try {
            request = JSON.readTree(call.getRequest());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        ObjectNode line = JSON.createObjectNode();
        ArrayNode messages = line.putArray("messages");
        StringBuilder input = new StringBuilder();
        for (JsonNode m : request.path("messages")) {
            String content = m.path("content").asText("");
            messages.addObject().put("role", m.path("role").asText()).put("content", content);
            input.append(m.path("role").asText()).append(": ").append(content).append('\n');
        }
        messages.addObject().put("role", "assistant").put("content", call.getOutput().strip());
        return new DatasetSplitter.Example(input.toString(), line.toString(), call.getOutput().strip());
    }

    private static String write(DatasetViews.Statistics stats) {
        try {
            return JSON.writeValueAsString(stats);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
