package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskEscalation;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;

/**
 * A task's fallback to its upstream: sends the call the task's model got (without serving's own decoding
 * fields, which an OpenAI-compatible API may refuse) and records it as an escalated upstream call whenever the
 * upstream captures (escalations are not sampled: they are what the next dataset must learn from).
 */
@Singleton
public class UpstreamEscalation implements TaskEscalation {
    /** Request fields only Quiver's (and vLLM's) serving knows. */
    private static final String GUIDED_CHOICE = "guided_choice";

    private final UpstreamService upstreams;
    private final UpstreamChat chat;
    private final CaptureRecorder recorder;

    public UpstreamEscalation(UpstreamService upstreams, UpstreamChat chat, CaptureRecorder recorder) {
        this.upstreams = upstreams;
        this.chat = chat;
        this.recorder = recorder;
    }

    @Override
    public boolean available(Task task) {
        return upstreams.find(task).isPresent();
    }

    @Override
    public JsonNode escalate(Task task, ObjectNode request, String reason) {
        Upstream upstream = upstreams.find(task).orElseThrow(() -> new ApiException(
                HttpStatus.BAD_GATEWAY, "server_error", "task '" + task.getName() + "' lost its upstream while"
                + " escalating a call", null, "upstream_error"));
        request.remove(GUIDED_CHOICE);
        long start = System.nanoTime();
        try {
            JsonNode answer = chat.complete(task, upstream, request);
            if (upstream.isCapture()) {
                recorder.upstreamCall(task, upstream.getModel(), request.toString(), 200, answer, null,
                        System.nanoTime() - start, reason);
            }
            return answer;
        } catch (ApiException e) {
            if (upstream.isCapture()) {
                recorder.upstreamCall(task, upstream.getModel(), request.toString(), e.status().getCode(), null,
                        e.getMessage(), System.nanoTime() - start, reason);
            }
            throw new ApiException(e.status(), e.type(), "Task '" + task.getName() + "' escalated the call to its"
                    + " upstream (" + reason + "), which failed: " + e.getMessage(), null, e.code());
        }
    }
}
