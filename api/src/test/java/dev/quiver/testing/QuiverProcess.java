package dev.quiver.testing;

import dev.quiver.cli.QuiverCli;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** {@code quiver ...} as a child JVM from the test class path, as the launchers and the chart run the roles. */
public final class QuiverProcess {
    private QuiverProcess() {
    }

    /** The command line of {@code quiver <args>}: this JVM's java, 1 GiB of heap, DJL offline. */
    public static ProcessBuilder command(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
                QuiverCli.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd);
    }

    /**
     * Reads {@code process}'s output (stdout and stderr merged) on a daemon thread: {@code listening} gets the
     * URL a server role prints once it listens, {@code output} the whole output once the process has exited.
     */
    public static void collect(Process process, String name, CompletableFuture<String> listening,
                               CompletableFuture<String> output) {
        Thread reader = new Thread(() -> {
            StringBuilder all = new StringBuilder();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    all.append(line).append('\n');
                    int at = line.indexOf(" listening on ");
                    if (at >= 0) {
                        listening.complete(line.substring(at + 14).split(" ")[0].replaceAll("/$", ""));
                    }
                }
            } catch (IOException e) {
                all.append("reading the output failed: ").append(e);
            }
            listening.completeExceptionally(new IllegalStateException("never listened:\n" + all));
            output.complete(all.toString());
        }, name + "-output");
        reader.setDaemon(true);
        reader.start();
    }
}
