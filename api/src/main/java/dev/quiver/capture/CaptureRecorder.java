package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskCallObserver;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a call into a {@link CapturedCall} and queues it, when the task's upstream has capture on and the
 * call falls in its sample; also records the task's own calls (invoke, MCP) the same way, so both sides
 * of a task are measured alike.
 */
@Singleton
public class CaptureRecorder implements TaskCallObserver {
    private final UpstreamService upstreams;
    private final CaptureQueue queue;

    public CaptureRecorder(UpstreamService upstreams, CaptureQueue queue) {
        this.upstreams = upstreams;
        this.queue = queue;
    }

    /** Whether a call of the task with this upstream is captured (capture on, and within the sample). */
    public boolean sampled(Upstream upstream) {
        return upstream.isCapture() && ThreadLocalRandom.current().nextDouble() < upstream.getSampleRate();
    }

    /** Queues one upstream call: {@code answer} is the upstream's chat completion, or null when it failed. */
    public void upstreamCall(Task task, String model, String request, int status, JsonNode answer, String error,
                             long nanos) {
        queue.offer(call(task, CapturedCall.UPSTREAM, model, request, status, answer, error, nanos));
    }

    @Override
    public void completed(Task task, ObjectNode request, JsonNode answer, long nanos) {
        upstreams.find(task).filter(this::sampled).ifPresent(u -> queue.offer(call(task, CapturedCall.TASK,
                request.path("model").asText(), request.toString(), 200, answer, null, nanos)));
    }

    private static CapturedCall call(Task task, String side, String model, String request, int status,
                                     JsonNode answer, String error, long nanos) {
        String output = null;
        int in = 0;
        int out = 0;
        if (answer != null) {
            JsonNode content = answer.path("choices").path(0).path("message").path("content");
            output = content.isTextual() ? content.asText() : null;
            in = answer.path("usage").path("prompt_tokens").asInt();
            out = answer.path("usage").path("completion_tokens").asInt();
            model = answer.path("model").asText(model);
        }
        return new CapturedCall(task.getProjectId(), task.getId(), side, model, request, output, status, error,
                nanos / 1e6, in, out, Instant.now());
    }
}
