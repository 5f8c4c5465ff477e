package dev.quiver.finetune.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A runner whose parent dies stops training at once and is halted if it has not exited by the grace period's end. */
class OrphanGuardTest {
    @Test
    void stopsTrainingWhenTheParentDiesThenHaltsAfterTheGracePeriod() throws Exception {
        Process parent = new ProcessBuilder("sleep", "600").start();
        CompletableFuture<Long> stopped = new CompletableFuture<>();
        CompletableFuture<Integer> halted = new CompletableFuture<>();
        StringWriter log = new StringWriter();
        try (OrphanGuard guard = new OrphanGuard(Optional.of(parent.toHandle()), Duration.ofMillis(100),
                Duration.ofSeconds(1), () -> stopped.complete(System.nanoTime()), halted::complete,
                new PrintWriter(log, true))) {
            assertThat(guard.isOrphaned()).isFalse();
            long killed = System.nanoTime();
            parent.destroyForcibly().waitFor();

            long stoppedAt = stopped.get(10, TimeUnit.SECONDS);
            assertThat(halted.get(10, TimeUnit.SECONDS)).isEqualTo(OrphanGuard.EXIT_ORPHANED);

            assertThat(Duration.ofNanos(stoppedAt - killed)).isLessThan(Duration.ofSeconds(2));
            assertThat(guard.reason()).hasValueSatisfying(r -> assertThat(r).contains("parent process "
                    + parent.pid() + " is gone"));
        }
        assertThat(log.toString()).contains("stopping: its parent process").contains("halting");
    }
}
