package dev.quiver.datasets;

import dev.quiver.files.FileService;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskDeletionListener;
import jakarta.inject.Singleton;
import jakarta.transaction.Transactional;
import java.util.List;

/**
 * Deletes datasets with their two files (they hold what was captured), one at a time or all of a task's
 * with the task. Depends on no task service: the task service calls it.
 */
@Singleton
public class DatasetDeletion implements TaskDeletionListener {
    private final TaskDatasetRepository datasets;
    private final FileService files;

    public DatasetDeletion(TaskDatasetRepository datasets, FileService files) {
        this.datasets = datasets;
        this.files = files;
    }

    @Override
    @Transactional
    public void onDeleted(Task task) {
        datasets.findByTaskIdOrderByCreatedAtDesc(task.getId()).forEach(this::delete);
    }

    @Transactional
    public void delete(TaskDataset dataset) {
        datasets.delete(dataset);
        for (String file : List.of(dataset.getTrainingFile(), dataset.getHeldoutFile())) {
            try {
                files.delete(dataset.getProjectId(), file);
            } catch (ApiException e) {
                // already deleted through /v1/files
            }
        }
    }
}
