package dev.quiver.savings;

import dev.quiver.auth.AuthFilter;
import dev.quiver.http.ApiException;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestAttribute;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.time.Duration;

/** {@code GET /v1/tasks/{name}/savings?window=7d}: the task's upstream and small model measured side by side. */
@Controller("/v1/tasks/{name}/savings")
@ExecuteOn(TaskExecutors.BLOCKING)
public class SavingsController {
    private final SavingsService savings;

    public SavingsController(SavingsService savings) {
        this.savings = savings;
    }

    @Get
    public SavingsViews.Savings get(@RequestAttribute(AuthFilter.PROJECT) String project, @PathVariable String name,
                                    @QueryValue(defaultValue = "7d") String window) {
        return savings.savings(project, name, window(window));
    }

    private static Duration window(String text) {
        if (text.matches("[1-9][0-9]{0,5}[mhd]")) {
            long n = Long.parseLong(text.substring(0, text.length() - 1));
            return switch (text.charAt(text.length() - 1)) {
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        throw ApiException.invalid("window", "window must be a number of minutes, hours or days, e.g. 30m, 24h or 7d;"
                + " got '" + text + "'");
    }
}
