package dev.quiver.serving.bench;

import java.util.Arrays;

/** Nearest-rank percentiles of a set of durations, in milliseconds. */
record LatencyStats(double[] sortedMillis) {
    static LatencyStats ofNanos(long[] nanos) {
        double[] ms = new double[nanos.length];
        for (int i = 0; i < nanos.length; i++) {
            ms[i] = nanos[i] / 1e6;
        }
        Arrays.sort(ms);
        return new LatencyStats(ms);
    }

    /** The {@code p}-th percentile (0 < p <= 100), NaN when there are no samples. */
    double percentile(double p) {
        if (sortedMillis.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100 * sortedMillis.length);
        return sortedMillis[Math.max(0, Math.min(sortedMillis.length - 1, rank - 1))];
    }

    int count() {
        return sortedMillis.length;
    }
}
