package dev.quiver.serving.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sequential read bandwidth with the engine's thread count: the best of a few passes summing a direct buffer
 * several times larger than the last-level cache, each thread its own contiguous slice. Batch-1 decode reads
 * every base weight once per token with that many threads, so this over the weight bytes is the decode speed no
 * engine can beat on this machine. (A single-threaded read is not a bound for a two-thread decode: on the
 * build machine two threads decoded fp32 Qwen3-0.6B at 1.2x what one thread's read bandwidth allowed.)
 */
final class MemoryBandwidth {
    /** 256 MiB: 8x the 32 MiB L3 of the build machine, so every pass streams from DRAM. */
    static final int BYTES = 256 << 20;
    private static final int PASSES = 6;

    private MemoryBandwidth() {
    }

    /** Gigabytes (1e9 bytes) per second of the best pass after a warm-up pass, reading with {@code threads}. */
    static double gbPerSecond(int threads) {
        // allocateDirect zeroes the buffer, so every page is resident before the first timed pass
        LongBuffer words = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
        int slice = words.limit() / threads / 4 * 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long sink = 0;
            double best = Double.MAX_VALUE;
            for (int pass = 0; pass <= PASSES; pass++) {
                long began = System.nanoTime();
                List<Future<Long>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int from = t * slice;
                    parts.add(pool.submit(() -> sum(words, from, from + slice)));
                }
                for (Future<Long> part : parts) {
                    sink += part.get();
                }
                double seconds = (System.nanoTime() - began) / 1e9;
                if (pass > 0) {
                    best = Math.min(best, seconds);
                }
            }
            if (sink == 42) {
                // keeps the sums observable so the JIT cannot drop the reads
                System.out.print("");
            }
            return (double) slice * threads * Long.BYTES / best / 1e9;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring memory bandwidth", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("memory bandwidth pass failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    // four independent sums: one add chain would bound the loop by add latency, not by memory
    private static long sum(LongBuffer w, int from, int to) {
        long a = 0;
        long b = 0;
        long c = 0;
        long d = 0;
        for (int i = from; i < to; i += 4) {
            a += w.get(i);
            b += w.get(i + 1);
            c += w.get(i + 2);
            d += w.get(i + 3);
        }
        return a + b + c + d;
    }
}
