package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.serving.Serving;
import io.micronaut.context.BeanProvider;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;

/**
 * Calls a task: validates the input against its schema, renders the prompt, runs one chat completion on
 * the task's adapter decoding under the output schema, and parses the answer (validating it once more). With a
 * {@link TaskFallback}, an answer that fails the schema or whose mean token logprob is below the threshold is
 * escalated: the task's upstream answers instead ({@link TaskEscalation}). Every call, failed or not, counts in
 * {@link TaskStats}.
 */
@Singleton
public class TaskInvoker {
    /**
     * One call's result: {@code output} is the parsed answer (the text itself without an output schema);
     * {@code servedBy} is {@code task} or {@code upstream} (escalated for {@code escalationReason}); the usage is
     * that of the side that answered; {@code meanLogprob} is the task model's, when its fallback asked for it.
     */
    public record Invocation(String task, Object output, String raw, String adapter, int promptTokens,
                             int completionTokens, long latencyMs, String servedBy, @Nullable String escalationReason,
                             @Nullable Double meanLogprob) {
    }

    /** Who answered a call. */
    public static final String SERVED_BY_TASK = "task";
    public static final String SERVED_BY_UPSTREAM = "upstream";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TaskService tasks;
    private final JsonSchemas schemas;
    private final TaskOutputs outputs;
    private final PromptTemplates templates;
    private final BeanProvider<Serving> serving;
    private final TaskStats stats;
    private final List<TaskCallObserver> observers;
    private final BeanProvider<TaskEscalation> escalation;

    /** {@code serving} is absent on a control plane configured without a serving tier: invokes are then a 503. */
    public TaskInvoker(TaskService tasks, JsonSchemas schemas, TaskOutputs outputs, PromptTemplates templates,
                       BeanProvider<Serving> serving, TaskStats stats, List<TaskCallObserver> observers,
                       BeanProvider<TaskEscalation> escalation) {
        this.escalation = escalation;
        this.observers = observers;
        this.tasks = tasks;
        this.schemas = schemas;
        this.outputs = outputs;
        this.templates = templates;
        this.serving = serving;
        this.stats = stats;
    }

    /** Calls task {@code name} of {@code project} with {@code input}; 404 for an unknown task. */
    public Invocation invoke(String project, String name, JsonNode input) {
        Task task = tasks.get(project, name);
        long start = System.nanoTime();
        int[] usage = new int[2];
        try {
            Invocation result = call(task, input, usage, start);
            stats.record(project, name, System.nanoTime() - start, usage[0], usage[1], null);
            return result;
        } catch (ApiException e) {
            stats.record(project, name, System.nanoTime() - start, usage[0], usage[1],
                    e.code() != null ? e.code() : "http_" + e.status().getCode());
            throw e;
        } catch (RuntimeException e) {
            stats.record(project, name, System.nanoTime() - start, usage[0], usage[1], "internal_error");
            throw e;
        }
    }

    private Invocation call(Task task, JsonNode input, int[] usage, long start) {
        TaskDefinition definition = TaskDefinition.of(task);
        if (input == null || !input.isObject()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "input is required: a JSON"
                    + " object matching the task's input_schema (GET /v1/tasks/" + task.getName() + "/tool shows it)",
                    "input", "invalid_input");
        }
        List<JsonSchemas.Violation> violations = schemas.validate(definition.inputSchema(), input, "input");
        if (!violations.isEmpty()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", JsonSchemas.join(violations),
                    violations.get(0).path(), "invalid_input");
        }
        TaskService.State state = tasks.state(task);
        if (!state.ready()) {
            throw tasks.notReady(task, state);
        }
        String model = tasks.resolveModel(task);
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.set("messages", JSON.valueToTree(templates.messages(definition, input)));
        body.put("temperature", definition.temperature());
        body.put("max_tokens", definition.maxTokens());
        if (definition.outputSchema() != null) {
            OutputConstraint.apply(body, task.getName(), definition.outputSchema());
        }
        TaskFallback fallback = TaskFallback.of(task);
        if (fallback != null && fallback.minMeanLogprob() != null) {
            body.put("logprobs", true);
        }
        long served = System.nanoTime();
        JsonNode answer = serving().complete(Serving.Endpoint.CHAT, body, task.getProjectId());
        long servingNanos = System.nanoTime() - served;
        observers.forEach(o -> o.completed(task, body, answer, servingNanos));
        usage[0] = answer.path("usage").path("prompt_tokens").asInt();
        usage[1] = answer.path("usage").path("completion_tokens").asInt();
        Double mean = fallback != null && fallback.minMeanLogprob() != null ? meanLogprob(answer) : null;
        String reason = null;
        Object output = null;
        TaskException failure = null;
        try {
            output = output(task, definition, answer);
        } catch (TaskException e) {
            if (fallback == null || !fallback.onSchemaFailure()) {
                throw e;
            }
            failure = e;
            reason = TaskFallback.SCHEMA_FAILURE;
        }
        if (reason == null && mean != null && mean < fallback.minMeanLogprob()) {
            reason = TaskFallback.LOW_LOGPROB;
        }
        if (reason == null || !escalation.isPresent() || !escalation.get().available(task)) {
            if (failure != null) {
                throw failure; // the upstream was removed since the fallback was set: the failure stands
            }
            return new Invocation(task.getName(), output, text(answer), model, usage[0], usage[1],
                    (System.nanoTime() - start) / 1_000_000, SERVED_BY_TASK, null, mean);
        }
        ObjectNode request = body.deepCopy();
        request.remove("logprobs");
        stats.escalated(task.getProjectId(), task.getName(), reason); // counted like its capture, answered or not
        JsonNode upstream = escalation.get().escalate(task, request, reason);
        usage[0] = upstream.path("usage").path("prompt_tokens").asInt();
        usage[1] = upstream.path("usage").path("completion_tokens").asInt();
        return new Invocation(task.getName(), output(task, definition, upstream), text(upstream), model, usage[0],
                usage[1], (System.nanoTime() - start) / 1_000_000, SERVED_BY_UPSTREAM, reason, mean);
    }

    /** The answer's mean token logprob, or null when it reports none. */
    private static Double meanLogprob(JsonNode answer) {
        JsonNode tokens = answer.path("choices").path(0).path("logprobs").path("content");
        double sum = 0;
        int n = 0;
        for (JsonNode t : tokens) {
            if (t.path("logprob").isNumber()) {
                sum += t.path("logprob").asDouble();
                n++;
            }
        }
        return n == 0 ? null : sum / n;
    }

    private static String text(JsonNode answer) {
        return answer.path("choices").path(0).path("message").path("content").asText("");
    }

    /** The answer's output, checked: a 422 when it was cut off or does not match the output schema. */
    private Object output(Task task, TaskDefinition definition, JsonNode answer) {
        String text = text(answer);
        if (definition.outputSchema() != null && "length".equals(answer.path("choices").path(0)
                .path("finish_reason").asText())) {
            // decoding is constrained to the schema, so only truncation can leave the value incomplete
            throw new TaskException(HttpStatus.UNPROCESSABLE_ENTITY, "invalid_output_error", "The answer for task '"
                    + task.getName() + "' was cut off at max_tokens (" + definition.maxTokens() + ") before its"
                    + " value was complete; raise the task's generation.max_tokens", "max_tokens",
                    "output_schema_mismatch", Map.of("raw", text));
        }
        return output(task, definition, text);
    }

    private Serving serving() {
        if (!serving.isPresent()) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", "this control plane has no serving"
                    + " tier to run tasks on: start it with quiver.serving.url (QUIVER_SERVING_URL) pointing at the"
                    + " serving replicas", null, "serving_unavailable");
        }
        return serving.get();
    }

    /** The answer as the output schema wants it ({@link TaskOutputs}); a 422 listing what is wrong when it is not. */
    private Object output(Task task, TaskDefinition definition, String raw) {
        TaskOutputs.Reading reading = outputs.reading(definition.outputSchema(), raw);
        if (reading.output().isPresent()) {
            return JSON.convertValue(reading.output().get(), Object.class);
        }
        throw new TaskException(HttpStatus.UNPROCESSABLE_ENTITY, "invalid_output_error", "The model's answer for"
                + " task '" + task.getName() + "' does not match its output_schema: "
                + JsonSchemas.join(reading.violations()), null, "output_schema_mismatch", Map.of("raw", raw,
                "violations", reading.violations().stream().map(JsonSchemas.Violation::toString).toList()));
    }
}
