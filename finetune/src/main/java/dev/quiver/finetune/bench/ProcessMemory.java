package dev.quiver.finetune.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's resident memory as Linux reports it in {@code /proc/self/status}; -1 where unavailable. */
final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /** Resident set size now, in bytes. */
    static long residentBytes() {
        return field("VmRSS:");
    }

    /** The peak resident set size since start or since {@link #resetPeak()}, in bytes. */
    static long peakResidentBytes() {
        return field("VmHWM:");
    }

    /**
     * Starts a new peak measurement (Linux 4.0+), so generating the benchmark's model does not count as
     * training memory. Returns whether the kernel accepted it.
     */
    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
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
