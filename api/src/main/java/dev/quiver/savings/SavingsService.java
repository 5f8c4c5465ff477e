package dev.quiver.savings;

import dev.quiver.capture.CapturedCall;
import dev.quiver.capture.CapturedCallRepository;
import dev.quiver.capture.UpstreamService;
import dev.quiver.datasets.DatasetService;
import dev.quiver.datasets.TaskDataset;
import dev.quiver.evals.Eval;
import dev.quiver.evals.EvalService;
import dev.quiver.evals.ModelCaller;
import dev.quiver.http.ApiException;
import dev.quiver.tasks.Task;
import dev.quiver.tasks.TaskService;
import io.micronaut.context.annotation.Value;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Compares a task's two sides over a window from what was captured: the upstream through the proxy and
 * the task's own model through invoke and MCP. Cost: the upstream's from the price table, the small
 * model's from its measured serving time times {@code quiver.savings.serving-dollars-per-hour}. Quality:
 * the latest eval of each on the same held-out file. {@link SavingsRefresh} publishes the figures as Prometheus
 * gauges ({@link SavingsGauges}).
 */
@Singleton
public class SavingsService {
    private static final double DAYS_PER_MONTH = 30;

    private final TaskService tasks;
    private final UpstreamService upstreams;
    private final CapturedCallRepository calls;
    private final EvalService evals;
    private final DatasetService datasets;
    private final List<UpstreamPrice> prices;
    private final double servingPerHour;

    public SavingsService(TaskService tasks, UpstreamService upstreams, CapturedCallRepository calls,
                          EvalService evals, DatasetService datasets, List<UpstreamPrice> prices,
                          @Value("${quiver.savings.serving-dollars-per-hour:1.0}") double servingPerHour) {
        this.tasks = tasks;
        this.upstreams = upstreams;
        this.calls = calls;
        this.evals = evals;
        this.datasets = datasets;
        this.prices = prices;
        this.servingPerHour = servingPerHour;
    }

    @ReadOnly
    public SavingsViews.Savings savings(String projectId, String taskName, Duration window) {
        Task task = tasks.get(projectId, taskName);
        var upstream = upstreams.get(projectId, taskName);
        Instant now = Instant.now();
        Instant since = now.minus(window);
        List<CapturedCall> big = calls.findByTaskIdAndSideAndCreatedAtBetweenOrderById(task.getId(),
                CapturedCall.UPSTREAM, since, now.plusSeconds(1));
        List<CapturedCall> small = calls.findByTaskIdAndSideAndCreatedAtBetweenOrderById(task.getId(),
                CapturedCall.TASK, since, now.plusSeconds(1));
        Optional<String> file = heldoutFile(task);
        String metric = "agreement";
        String smallModel = task.getAdapter() == null ? "none" : currentModel(task);
        SavingsViews.Side upstreamSide = side(upstream.getModel(), big, quality(task, ModelCaller.UPSTREAM, file,
                metric), upstreamCost(big), "price table: $/1M input and output tokens (quiver.savings.prices)");
        SavingsViews.Side smallSide = side(smallModel, small, quality(task, smallModel, file, metric),
                smallCost(small), "measured serving time x $" + servingPerHour + "/hour"
                        + " (quiver.savings.serving-dollars-per-hour)");
        Instant first = big.isEmpty() && small.isEmpty() ? now : min(big, small);
        double days = Math.max(Duration.between(first, now).toMillis(), 60_000) / 86_400_000.0;
        double perDay = (big.size() + small.size()) / days;
        Double perCall = upstreamSide.costPerCallUsd() == null || smallSide.costPerCallUsd() == null ? null
                : upstreamSide.costPerCallUsd() - smallSide.costPerCallUsd();
        Double monthly = perCall == null ? null : perCall * perDay * DAYS_PER_MONTH;
        Double speedup = smallSide.latencyMs().p50() > 0 && upstreamSide.calls() > 0
                ? upstreamSide.latencyMs().p50() / smallSide.latencyMs().p50() : null;
        long escalations = big.stream().filter(CapturedCall::escalated).count();
        return new SavingsViews.Savings("task.savings", taskName, window.toSeconds(), since.getEpochSecond(),
                upstreamSide, smallSide, escalations, small.isEmpty() ? null : (double) escalations / small.size(),
                perDay, speedup, perCall, monthly);
    }

    private SavingsViews.Side side(String model, List<CapturedCall> rows, SavingsViews.Quality quality, Double cost,
                                   String basis) {
        double[] latencies = rows.stream().filter(CapturedCall::succeeded).mapToDouble(CapturedCall::getLatencyMs)
                .sorted().toArray();
        long answered = latencies.length;
        return new SavingsViews.Side(model, rows.size(), rows.size() - answered,
                new SavingsViews.Latency(percentile(latencies, 0.5), percentile(latencies, 0.95)),
                rows.stream().mapToLong(CapturedCall::getPromptTokens).sum(),
                rows.stream().mapToLong(CapturedCall::getCompletionTokens).sum(), quality, cost,
                cost == null || rows.isEmpty() ? null : cost / rows.size(), basis);
    }

    private Double upstreamCost(List<CapturedCall> rows) {
        double total = 0;
        for (CapturedCall c : rows) {
            Optional<UpstreamPrice> price = prices.stream().filter(p -> p.matches(c.getModel())).findFirst();
            if (price.isEmpty()) {
                return null;
            }
            total += (c.getPromptTokens() * price.get().inputPerMillion()
                    + c.getCompletionTokens() * price.get().outputPerMillion()) / 1e6;
        }
        return total;
    }

    private Double smallCost(List<CapturedCall> rows) {
        double ms = rows.stream().mapToDouble(CapturedCall::getLatencyMs).sum();
        return ms / 3_600_000.0 * servingPerHour;
    }

    private SavingsViews.Quality quality(Task task, String model, Optional<String> file, String metric) {
        return file.flatMap(f -> evals.latest(task.getId(), model, f)).map(e -> new SavingsViews.Quality(e.getId(),
                e.getFileId(), metric, EvalService.score(e, metric))).orElse(null);
    }

    /** The shared held-out file: the newest dataset's (both sides' evals are compared on one file). */
    private Optional<String> heldoutFile(Task task) {
        return datasets.list(task.getProjectId(), task.getName()).stream().findFirst()
                .map(TaskDataset::getHeldoutFile);
    }

    private String currentModel(Task task) {
        try {
            return tasks.resolveModel(task);
        } catch (ApiException e) {
            return task.getAdapter();
        }
    }

    private static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static Instant min(List<CapturedCall> a, List<CapturedCall> b) {
        Instant first = Instant.now();
        for (List<CapturedCall> list : List.of(a, b)) {
            if (!list.isEmpty() && list.get(0).getCreatedAt().isBefore(first)) {
                first = list.get(0).getCreatedAt();
            }
        }
        return first;
    }
}
