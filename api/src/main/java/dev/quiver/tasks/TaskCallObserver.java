package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Told of every completion a task's own model answered (invoke and MCP), so both sides of a task are measured alike. */
public interface TaskCallObserver {

    /** {@code request} is the chat body sent to serving, {@code answer} its response, {@code nanos} the serving time. */
    void completed(Task task, ObjectNode request, JsonNode answer, long nanos);
}
