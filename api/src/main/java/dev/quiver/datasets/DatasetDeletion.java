package dev.quiver.datasets;

import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;

/** Deletes a task's datasets and their files with the task: they hold what was captured for it. */
@Singleton
public class DatasetDeletion implements TaskDeletionListener {
    private final TaskDatasetRepository datasets;
    private final DatasetService service;

    public DatasetDeletion(TaskDatasetRepository datasets, DatasetService service) {
        this.datasets = datasets;
        this.service = service;
    }

    @Override
    @Transactional
    public void onDeleted(Task task) {
        datasets.findByTaskIdOrderByCreatedAtDesc(task.getId()).forEach(service::deleteWithFiles);
    }
}
