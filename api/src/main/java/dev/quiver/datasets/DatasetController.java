package dev.quiver.datasets;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ListView;
import dev.quiver.tasks.TaskRequests;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.URI;

/** {@code /v1/tasks/{name}/datasets}: build training and held-out files from a task's captured calls. */
@Controller("/v1/tasks/{name}/datasets")
@ExecuteOn(TaskExecutors.BLOCKING)
public class DatasetController {
    private final DatasetService datasets;

    public DatasetController(DatasetService datasets) {
        this.datasets = datasets;
    }

    /** {@code {"since", "until", "heldout_fraction": 0.2, "seed": 0}}, all optional. */
    @Post(consumes = MediaType.ALL)
    public HttpResponse<DatasetViews.DatasetView> build(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                        @PathVariable String name, @Nullable @Body String body) {
        DatasetViews.Build request = DatasetViews.Build.parse(TaskRequests.body(body == null || body.isBlank()
                ? "{}" : body));
        TaskDataset dataset = datasets.build(project, name, request);
        return HttpResponse.created(view(name, dataset), URI.create("/v1/tasks/" + name + "/datasets/"
                + dataset.getId()));
    }

    @Get
    public ListView<DatasetViews.DatasetView> list(@RequestAttribute(AuthFilter.PROJECT) String project,
                                                   @PathVariable String name) {
        return ListView.of(datasets.list(project, name).stream().map(d -> view(name, d)).toList(), false);
    }

    @Get("/{id}")
    public DatasetViews.DatasetView get(@RequestAttribute(AuthFilter.PROJECT) String project,
                                        @PathVariable String name, @PathVariable String id) {
        return view(name, datasets.get(project, name, id));
    }

    /** Deletes the dataset and its two files. */
    @Delete("/{id}")
    public DatasetViews.Deleted delete(@RequestAttribute(AuthFilter.PROJECT) String project,
                                       @PathVariable String name, @PathVariable String id) {
        datasets.delete(project, name, id);
        return new DatasetViews.Deleted(id, "task.dataset", true);
    }

    private static DatasetViews.DatasetView view(String task, TaskDataset d) {
        return new DatasetViews.DatasetView(d.getId(), "task.dataset", task, d.getTrainingFile(), d.getHeldoutFile(),
                DatasetService.statistics(d), d.getCreatedAt().getEpochSecond());
    }
}
