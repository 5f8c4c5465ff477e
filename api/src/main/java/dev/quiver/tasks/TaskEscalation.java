package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Answers a task's call with the task's upstream when its own model's answer falls short ({@link TaskFallback}). */
public interface TaskEscalation {

    /** Whether the task has an upstream to escalate to. */
    boolean available(Task task);

    /**
     * The upstream's chat completion for {@code request}, the body the task's model was sent; the call is captured
     * as escalated with {@code reason}. An upstream that fails is a 502 to the caller, captured as a failure.
     */
    JsonNode escalate(Task task, ObjectNode request, String reason);
}
