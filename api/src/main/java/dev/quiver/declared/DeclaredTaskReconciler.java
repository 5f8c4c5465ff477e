package dev.quiver.declared;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDefinition;
import dev.quiver.tasks.TaskRequests;
import dev.quiver.tasks.TaskService;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Creates or updates the tasks declared in the chart's values, through the same validation as
 * {@code POST/PATCH /v1/tasks}; a task that fails validation is logged and the others still converge.
 * Tasks that disappear from the declaration are left in place (they may have been created by hand).
 */
@Singleton
public class DeclaredTaskReconciler {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TaskService tasks;
    private final TaskRequests requests;

    public DeclaredTaskReconciler(TaskService tasks, TaskRequests requests) {
        this.tasks = tasks;
        this.requests = requests;
    }

    /** Converges every declared task of {@code project}; returns one line per failure. */
    public List<String> reconcile(String project, Map<String, DeclaredTask> declared) {
        List<String> failures = new ArrayList<>();
        for (DeclaredTask task : declared.values()) {
            ObjectNode body = JSON.createObjectNode();
            body.put("name", task.name());
            body.put("description", task.description());
            body.put("adapter", task.adapter());
            if (task.promptTemplate() != null) {
                body.put("prompt_template", task.promptTemplate());
            }
            body.set("input_schema", JSON.valueToTree(task.inputSchema()));
            if (task.outputSchema() != null && !task.outputSchema().isEmpty()) {
                body.set("output_schema", JSON.valueToTree(task.outputSchema()));
            }
            try {
                Optional<Task> existing = tasks.find(project, task.name());
                if (existing.isPresent()) {
                    tasks.update(project, task.name(), requests.update(task.name(),
                            TaskDefinition.of(existing.get()), body));
                } else {
                    tasks.create(project, requests.create(body));
                }
            } catch (ApiException | IllegalStateException e) {
                failures.add("declared task '" + task.name() + "' not applied: " + e.getMessage());
            }
        }
        return failures;
    }
}
