package dev.quiver.finetune.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobWorkDirTest {
    @TempDir
    Path tmp;

    @Test
    void isOwnerOnlyWhileTheJobRunsAndGoneAfter() throws IOException {
        Path dir = tmp.resolve("jobs/ftjob-1");
        try (JobWorkDir work = JobWorkDir.create(dir)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work.path()))).isEqualTo("rwx------");
            Files.createDirectories(work.path().resolve("checkpoints/step-5"));
            Files.writeString(work.path().resolve("train.jsonl"), "{\"prompt\": \"tenant data\"}");
        }
        assertThat(dir).doesNotExist();
        assertThat(dir.getParent()).isEmptyDirectory();
    }

    @Test
    void replacesWhatAKilledAttemptLeft() throws IOException {
        Path dir = tmp.resolve("quiver-train-ftjob-2");
        Files.createDirectories(dir.resolve("adapter-attempt-1"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (JobWorkDir work = JobWorkDir.create(dir)) {
            assertThat(work.path()).isEmptyDirectory();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work.path()))).isEqualTo("rwx------");
        }
    }

    @Test
    void refusesASymbolicLinkPlantedAtItsPath() throws IOException {
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        Path dir = Files.createSymbolicLink(tmp.resolve("quiver-train-ftjob-3"), elsewhere);
        assertThatThrownBy(() -> JobWorkDir.create(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("already exists and is not a directory of user");
        assertThat(elsewhere).exists();
    }
}
