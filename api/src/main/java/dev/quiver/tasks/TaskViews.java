package dev.quiver.tasks;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.LinkedHashMap;
import java.util.Map;

/** The JSON shapes of the tasks and tools API. */
public final class TaskViews {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TaskViews() {
    }

    /** A task as {@code GET /v1/tasks/{name}} shows it; {@code status} is ready, training or failed. */
    @Serdeable
    public record TaskView(String id, String object, String name, String description, @Nullable String adapter,
                           int revision, String status, @Nullable String trainingJob, @Nullable String trainingStatus,
                           @Nullable String systemPrompt, String promptTemplate, Map<String, Object> inputSchema,
                           @Nullable Map<String, Object> outputSchema, Generation generation,
                           @Nullable Map<String, Object> fallback, long createdAt, long updatedAt) {

        static TaskView of(Task t, TaskService.State state) {
            TaskDefinition d = TaskDefinition.of(t);
            return new TaskView(t.getId(), "task", t.getName(), t.getDescription(), t.getAdapter(), t.getRevision(),
                    state.status(), t.getTrainingJob(), state.jobStatus() == null ? null : state.jobStatus().wireName(),
                    t.getSystemPrompt(), t.getPromptTemplate(), map(d.inputSchema()), map(d.outputSchema()),
                    new Generation(t.getTemperature(), t.getMaxTokens()),
                    t.getFallback() == null ? null : map(TaskFallback.of(t).json()), t.getCreatedAt().getEpochSecond(),
                    t.getUpdatedAt().getEpochSecond());
        }
    }

    /** Generation defaults of a task's calls. */
    @Serdeable
    public record Generation(double temperature, int maxTokens) {
    }

    /** One revision of a task's adapter history. */
    @Serdeable
    public record Version(String object, int revision, String adapter, @Nullable String sourceJob, String reason,
                          long createdAt, @Nullable Long rolledBackAt, boolean active) {

        static Version of(TaskVersion v, Task task) {
            return new Version("task.version", v.getRevision(), v.getAdapter(), v.getSourceJob(), v.getReason(),
                    v.getCreatedAt().getEpochSecond(),
                    v.getRolledBackAt() == null ? null : v.getRolledBackAt().getEpochSecond(),
                    v.getRevision() == task.getRevision());
        }
    }

    /** Deletion result. */
    @Serdeable
    public record Deleted(String id, String object, String name, boolean deleted) {
    }

    /** Token counts of one call, as OpenAI reports them. */
    @Serdeable
    public record Usage(int promptTokens, int completionTokens, int totalTokens) {
    }

    /**
     * {@code POST /v1/tasks/{name}/invoke}'s answer: {@code served_by} says who answered ({@code task}, or
     * {@code upstream} when the task's fallback escalated for {@code escalation_reason}).
     */
    @Serdeable
    public record InvocationView(String object, String task, @Nullable Object output, String raw, String adapter,
                                 Usage usage, long latencyMs, String servedBy, @Nullable String escalationReason,
                                 @Nullable Double meanLogprob) {

        static InvocationView of(TaskInvoker.Invocation i) {
            return new InvocationView("task.invocation", i.task(), i.output(), i.raw(), i.adapter(),
                    new Usage(i.promptTokens(), i.completionTokens(), i.promptTokens() + i.completionTokens()),
                    i.latencyMs(), i.servedBy(), i.escalationReason(), i.meanLogprob());
        }
    }

    /** {@code GET /v1/tasks/{name}/stats}: counts since the server started, latency percentiles of recent calls. */
    @Serdeable
    public record Stats(String object, String task, long calls, long errors, Map<String, Long> errorsByCode,
                        long tokensIn, long tokensOut, Latency latencyMs, long escalations,
                        Map<String, Long> escalationsByReason) {

        static Stats of(String task, TaskStats.Snapshot s) {
            return new Stats("task.stats", task, s.calls(), s.errors(), s.errorsByCode(), s.tokensIn(), s.tokensOut(),
                    new Latency(s.latencyP50Ms(), s.latencyP99Ms(), s.latencyMeanMs()), s.escalations(),
                    s.escalationsByReason());
        }
    }

    /** Latency in milliseconds. */
    @Serdeable
    public record Latency(double p50, double p99, double mean) {
    }

    /** An OpenAI function tool: {@code {"type": "function", "function": {name, description, parameters}}}. */
    @Serdeable
    public record FunctionTool(String type, Function function) {

        static FunctionTool of(Task t) {
            return new FunctionTool("function", new Function(t.getName(), t.getDescription(),
                    map(TaskDefinition.of(t).inputSchema())));
        }
    }

    /** The function of a {@link FunctionTool}: its parameters are the task's input schema. */
    @Serdeable
    public record Function(String name, String description, Map<String, Object> parameters) {
    }

    static Map<String, Object> map(JsonNode node) {
        return node == null ? null : JSON.convertValue(node, new TypeReference<LinkedHashMap<String, Object>>() {
        });
    }
}
