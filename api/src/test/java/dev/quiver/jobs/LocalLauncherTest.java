package dev.quiver.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.blob.DataDir;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalLauncherTest {
    @TempDir
    Path dataDir;

    @Test
    void aRunnerThatDiesWithoutReportingTellsItsExitCodeAndLog() throws Exception {
        LocalLauncher launcher = new LocalLauncher(new DataDir(dataDir), "64m", 1);

        // nothing listens on port 9: the runner cannot fetch its job and exits with an error
        String ref = launcher.launch(new Launcher.LaunchRequest("ftjob-local", 1, "token", "http://127.0.0.1:9"));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (launcher.isAlive(ref)) {
            assertThat(System.nanoTime()).as("runner still alive after 60 s").isLessThan(deadline);
            Thread.sleep(50);
        }

        assertThat(launcher.failureReason(ref)).hasValueSatisfying(reason -> assertThat(reason)
                .matches("the runner exited with code [1-9][0-9]*; the operator finds its log at"
                        + " jobs/ftjob-local/attempt-1.log under the data dir")
                .doesNotContain(dataDir.toString()));
        assertThat(launcher.failureReason("pid:1")).isEmpty();
    }
}
