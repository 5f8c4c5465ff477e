package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.datasets.DatasetService;
import dev.quiver.tasks.TaskOutputs;
import dev.quiver.http.ApiException;
import dev.quiver.server.Background;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDefinition;
import dev.quiver.tasks.TaskRepository;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs evals: each held-out example through the model with the task's generation settings, scored by
 * {@link EvalScores}. Submitted evals run one at a time on a thread of their own (an eval takes the serving
 * tier's time like traffic does); the promotion gate runs its evals in its own thread with {@link #run}.
 */
@Singleton
public class EvalRunner {
    private static final Logger LOG = LoggerFactory.getLogger(EvalRunner.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EvalService evals;
    private final EvalFile files;
    private final TaskOutputs outputs;
    private final ModelCaller models;
    private final TaskRepository tasks;
    private final DatasetService datasets;
    private final ExecutorService executor = Background.singleThread("quiver-evals");

    public EvalRunner(EvalService evals, EvalFile files, TaskOutputs outputs, ModelCaller models,
                      TaskRepository tasks, DatasetService datasets) {
        this.evals = evals;
        this.files = files;
        this.outputs = outputs;
        this.models = models;
        this.tasks = tasks;
        this.datasets = datasets;
    }

    /** Runs eval {@code id} in the background. */
    public void submit(String id) {
        executor.submit(() -> run(id));
    }

    /** Runs eval {@code id} now, in the caller's thread; returns it finished (succeeded or failed). */
    public Eval run(String id) {
        Eval eval = evals.start(id);
        try {
            Task task = tasks.findById(eval.getTaskId()).orElseThrow(() -> new IllegalStateException("its task was"
                    + " deleted"));
            TaskDefinition definition = TaskDefinition.of(task);
            List<EvalCase> cases = files.read(eval.getProjectId(), eval.getFileId(), definition.outputSchema());
            List<EvalScores.Scored> scored = new ArrayList<>();
            for (EvalCase c : cases) {
                ObjectNode body = JSON.createObjectNode();
                body.set("messages", c.messages());
                body.put("temperature", definition.temperature());
                body.put("max_tokens", definition.maxTokens());
                long start = System.nanoTime();
                JsonNode answer = models.chat(task, eval.getModel(), body);
                double ms = (System.nanoTime() - start) / 1e6;
                String text = answer.path("choices").path(0).path("message").path("content").asText("");
                scored.add(new EvalScores.Scored(c, text, outputs.read(definition.outputSchema(), text), ms,
                        answer.path("usage").path("prompt_tokens").asInt(),
                        answer.path("usage").path("completion_tokens").asInt()));
            }
            String reference = datasets.isHeldout(eval.getProjectId(), eval.getFileId()) ? "upstream" : "file";
            return evals.succeed(id, EvalScores.metrics(scored, definition.outputSchema(), reference));
        } catch (ApiException | IllegalStateException e) {
            return evals.fail(id, e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("eval {} failed", id, e);
            return evals.fail(id, "internal error while running the eval");
        }
    }

    @PreDestroy
    void stop() {
        executor.shutdownNow();
    }
}
