package dev.quiver.adapters.bench;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * This process's memory: resident set as Linux reports it in {@code /proc/self/status} (-1 where
 * unavailable), and the Java side of it, which is exact where RSS is blurred by the heap's own growth.
 */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path SMAPS = Path.of("/proc/self/smaps");
    private static final Pattern SMAPS_HEADER = Pattern.compile("^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\S+\\s*(.*)$");

    /** One mapping of this process: what it maps ("" for anonymous memory, "[heap]", a file) and its resident bytes. */
    public record Mapping(String path, long residentBytes) {
    }

    private ProcessMemory() {
    }

    /** Resident set size now, in bytes. */
    public static long residentBytes() {
        return field("VmRSS:");
    }

    /** The peak resident set size since start or since {@link #resetPeak()}, in bytes. */
    public static long peakResidentBytes() {
        return field("VmHWM:");
    }

    /**
     * Starts a new peak measurement (Linux 4.0+), so generating the benchmark's model and adapters does
     * not count as serving memory. Returns whether the kernel accepted it.
     */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Live Java heap after a full collection, in bytes: the adapters' host copies live here. */
    public static long liveHeapBytes() {
        settle();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    // collects until the direct buffers stop shrinking: a dropped direct buffer's memory is freed by a cleaner
    // thread some time after the collection that found it unreachable (here: the compiled weights, gigabytes)
    private static void settle() {
        long before = directBytes();
        for (int i = 0; i < 50; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = directBytes();
            if (now == before) {
                return;
            }
            before = now;
        }
    }

    /** Direct buffers in use, in bytes: the KV cache and the adapter pools. */
    public static long directBytes() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        return -1;
    }

    /** Whether {@link #mappings()} can be read here (Linux). */
    public static boolean mappingsReadable() {
        return Files.isReadable(SMAPS);
    }

    /** Every mapping of this process with its resident size, from {@code /proc/self/smaps}. */
    public static List<Mapping> mappings() throws IOException {
        List<Mapping> out = new ArrayList<>();
        String path = null;
        for (String line : Files.readAllLines(SMAPS)) {
            Matcher m = SMAPS_HEADER.matcher(line);
            if (m.matches()) {
                path = m.group(1).trim();
            } else if (path != null && line.startsWith("Rss:")) {
                out.add(new Mapping(path, Long.parseLong(line.replaceAll("\\D", "")) * 1024));
                path = null;
            }
        }
        return out;
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
