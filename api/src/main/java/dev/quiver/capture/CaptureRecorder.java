package dev.quiver.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskCallObserver;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.time.Instant;

/**
 * Turns a call into a {@link CapturedCall} and queues it, when the task's upstream has capture on and the
 * call falls in its sample; also records the task's own calls (invoke, MCP) the same way, so both sides
 * of a task are measured alike.
 */
@Singleton
public class CaptureRecorder implements TaskCallObserver {
    private final UpstreamService upstreams;
    private final CaptureQueue queue;
    private final CaptureSampler sampler;

    public CaptureRecorder(UpstreamService upstreams, CaptureQueue queue, CaptureSampler sampler) {
        this.upstreams = upstreams;
        this.queue = queue;
        this.sampler = sampler;
    }

    /** Whether a call of the task with this upstream is captured (capture on, and within the sample). */
    public boolean sampled(Upstream upstream) {
        return sampler.sampled(upstream);
    }

    /**
     * Queues one upstream call: {@code answer} is the upstream's chat completion, or null when it failed;
     * {@code escalationReason} is why the task's fallback sent it there, null for a proxied call.
     */
    public void upstreamCall(Task task, String model, String request, int status, JsonNode answer, String error,
                             long nanos, @Nullable String escalationReason) {
        queue.offer(call(task, CapturedCall.UPSTREAM, model, request, status, answer, error, nanos, escalationReason));
    }

    @Override
    public void completed(Task task, ObjectNode request, JsonNode answer, long nanos) {
        upstreams.find(task).filter(this::sampled).ifPresent(u -> queue.offer(call(task, CapturedCall.TASK,
                request.path("model").asText(), request.toString(), 200, answer, null, nanos, null)));
    }

    private static CapturedCall call(Task task, String side, String model, String request, int status,
                                     JsonNode answer, String error, long nanos, String escalationReason) {
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
                nanos / 1e6, in, out, escalationReason, Instant.now());
    }
}
