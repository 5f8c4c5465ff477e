package dev.quiver.serving.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * Single-threaded sequential read bandwidth: the best of a few passes summing a direct buffer several times
 * larger than the last-level cache. Batch-1 decode reads every base weight once per token, so this over the
 * weight bytes is the decode speed no engine can beat on this machine.
 */
final class MemoryBandwidth {
    /** 256 MiB: 8x the 32 MiB L3 of the build machine, so every pass streams from DRAM. */
    static final int BYTES = 256 << 20;
    private static final int PASSES = 6;

    private MemoryBandwidth() {
    }

    /** Gigabytes (1e9 bytes) per second of the best pass after a warm-up pass. */
    static double gbPerSecond() {
        // allocateDirect zeroes the buffer, so every page is resident before the first timed pass
        LongBuffer words = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
        long sink = 0;
        double best = Double.MAX_VALUE;
        for (int pass = 0; pass <= PASSES; pass++) {
            long began = System.nanoTime();
            sink += sum(words);
            double seconds = (System.nanoTime() - began) / 1e9;
            if (pass > 0) {
                best = Math.min(best, seconds);
            }
        }
        if (sink == 42) {
            // keeps the sums observable so the JIT cannot drop the reads
            System.out.print("");
        }
        return BYTES / best / 1e9;
    }

    // four independent sums: one add chain would bound the loop by add latency, not by memory
    private static long sum(LongBuffer w) {
        long a = 0;
        long b = 0;
        long c = 0;
        long d = 0;
        int n = w.limit();
        for (int i = 0; i < n; i += 4) {
            a += w.get(i);
            b += w.get(i + 1);
            c += w.get(i + 2);
            d += w.get(i + 3);
        }
        return a + b + c + d;
    }
}
