package dev.quiver.finetune.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The runner's reports: resent in order after failures, stored once each, and given up on a gone control plane. */
class EventReporterTest {
    private final StringWriter logged = new StringWriter();
    private final PrintWriter log = new PrintWriter(logged, true);

    @Test
    void resendsFailedReportsInOrderAndLogsTheControlPlanesMessage() throws Exception {
        try (FakeControlPlane cp = new FakeControlPlane(3);
             EventReporter reporter = reporter(cp.url(), 41, Duration.ofMinutes(1), e -> { })) {
            for (int i = 0; i < 5; i++) {
                reporter.report("info", "message", "event " + i, null);
            }

            assertThat(reporter.flush(Duration.ofSeconds(30))).isTrue();

            assertThat(cp.stored()).containsExactly(41L, 42L, 43L, 44L, 45L);
        }
        assertThat(logged.toString()).contains("event 41 failed (control plane answered 500 to POST"
                + " /v1/internal/jobs/job-1/events: database is busy); retrying in");
    }

    @Test
    void sendsHeartbeatsWhileThereIsNothingToReport() throws Exception {
        try (FakeControlPlane cp = new FakeControlPlane(0);
             EventReporter reporter = reporter(cp.url(), 1, Duration.ofMinutes(1), e -> { })) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (cp.heartbeats() < 2 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(cp.heartbeats()).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void givesUpOnceTheControlPlaneHasBeenGoneForLongerThanTheBound() throws Exception {
        String url;
        try (FakeControlPlane cp = new FakeControlPlane(0)) {
            url = cp.url();
        }
        CompletableFuture<IOException> stopped = new CompletableFuture<>();
        long start = System.nanoTime();
        try (EventReporter reporter = reporter(url, 1, Duration.ofSeconds(1), stopped::complete)) {
            reporter.report("info", "message", "into the void", null);

            IOException why = stopped.get(20, TimeUnit.SECONDS);

            assertThat(why).isInstanceOf(ControlPlaneRetry.ControlPlaneGoneException.class)
                    .hasMessageContaining("the control plane has not answered for").hasMessageContaining("event 1");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
            assertThat(reporter.flush(Duration.ofSeconds(1))).isFalse();
        }
        assertThat(logged.toString()).contains("event 1 failed (").doesNotContain("null");
    }

    private EventReporter reporter(String url, long firstSeq, Duration giveUpAfter,
                                   java.util.function.Consumer<IOException> onStop) {
        ControlPlaneClient client = new ControlPlaneClient(url, "job-1", "token");
        return new EventReporter(client, new ControlPlaneRetry(giveUpAfter, () -> false, log), firstSeq,
                Duration.ofMillis(200), onStop, log);
    }
}
