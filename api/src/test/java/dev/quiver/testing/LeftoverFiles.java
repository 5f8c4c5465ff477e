package dev.quiver.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Snapshots a data dir (every entry, recursively) and the JVM's temp dir (its top-level entries) before an
 * act, and then asserts that the act left nothing new in either, naming every leftover.
 */
public final class LeftoverFiles {
    private static final Duration SETTLE = Duration.ofSeconds(5);
    private static final Duration POLL = Duration.ofMillis(50);

    private final Path dataDir;
    private final Path tempDir;
    private final Set<Path> before;

    private LeftoverFiles(Path dataDir, Path tempDir) {
        this.dataDir = dataDir;
        this.tempDir = tempDir;
        this.before = entries();
    }

    /** Takes the snapshot of {@code dataDir} and of {@code java.io.tmpdir}. */
    public static LeftoverFiles snapshot(Path dataDir) {
        return new LeftoverFiles(dataDir, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** Entries that exist now and did not at the snapshot. */
    public List<Path> newEntries() {
        List<Path> fresh = new ArrayList<>(entries());
        fresh.removeAll(before);
        fresh.sort(null);
        return fresh;
    }

    /** Fails, listing them, when any new entry appeared. */
    public void assertNothingLeft() {
        assertNothingLeftExcept(p -> false);
    }

    /**
     * Fails, listing them, when a new entry appeared that {@code expected} does not accept and is still there a
     * few seconds on: the server releases a request's multipart temp files just after it has answered.
     */
    public void assertNothingLeftExcept(Predicate<Path> expected) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        List<Path> leftovers = newEntries().stream().filter(expected.negate()).toList();
        while (!leftovers.isEmpty() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(POLL.toNanos());
            leftovers = newEntries().stream().filter(expected.negate()).toList();
        }
        assertThat(leftovers).as("files left behind in the data dir %s or the temp dir %s", dataDir, tempDir)
                .isEmpty();
    }

    private Set<Path> entries() {
        Set<Path> all = new HashSet<>();
        try (Stream<Path> data = Files.walk(dataDir); Stream<Path> temp = Files.list(tempDir)) {
            data.forEach(all::add);
            temp.forEach(all::add);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof NoSuchFileException) {
                // an entry vanished while being walked: it is not a leftover, so look again
                return entries();
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }
}
