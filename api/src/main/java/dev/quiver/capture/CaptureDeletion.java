package dev.quiver.capture;

import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;

/** Deletes a task's upstream and every call captured for it, with the task. */
@Singleton
public class CaptureDeletion implements TaskDeletionListener {
    private final UpstreamRepository upstreams;
    private final CapturedCallRepository calls;

    public CaptureDeletion(UpstreamRepository upstreams, CapturedCallRepository calls) {
        this.upstreams = upstreams;
        this.calls = calls;
    }

    @Override
    @Transactional
    public void onDeleted(Task task) {
        calls.deleteByTaskId(task.getId());
        upstreams.deleteById(task.getId());
    }
}
