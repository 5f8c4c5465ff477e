package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuiverOpsTest {
    @TempDir
    Path tmp;

    /**
     * A killed JVM's library directory is removed by the next one: only those of this boot and PID namespace whose
     * process is gone, not a live process's, another scope's (a container or host sharing /tmp), an older build's
     * unnamed one, or a file named like a directory.
     */
    @Test
    void leftOverLibraryDirectoriesOfGoneProcessesAreRemoved() throws Exception {
        String namespace = QuiverOps.pidScope();
        assumeTrue(namespace != null, "no boot id or PID namespace to read here");
        Process exited = new ProcessBuilder("true").start();
        exited.waitFor();
        Path gone = library(tmp.resolve("quiver-ops-" + namespace + "-" + exited.pid() + "-123"));
        Path live = library(tmp.resolve("quiver-ops-" + namespace + "-" + ProcessHandle.current().pid() + "-456"));
        Path otherNamespace = library(tmp.resolve("quiver-ops-1-2-" + exited.pid() + "-789"));
        Path file = Files.writeString(tmp.resolve("quiver-ops-" + namespace + "-" + exited.pid() + "-999"), "a file");
        Path older = library(tmp.resolve("quiver-ops1234567"));
        QuiverOps.removeLeftovers(tmp, namespace);
        assertThat(gone).doesNotExist();
        assertThat(live.resolve("libquiver_ops.so")).exists();
        assertThat(otherNamespace.resolve("libquiver_ops.so")).exists();
        assertThat(older.resolve("libquiver_ops.so")).exists();
        assertThat(file).exists();
    }

    private static Path library(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("libquiver_ops.so"), "not a library");
        return dir;
    }
}
