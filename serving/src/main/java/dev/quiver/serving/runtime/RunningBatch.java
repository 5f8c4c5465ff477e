package dev.quiver.serving.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the started sequences sit in the KV cache: the decoding ones in rows {@code [0, n)}, so one decode
 * step reads a dense batch, and the one being prefilled in row {@code n}, right after them. Engine thread only,
 * except {@link #decodingRows()}.
 */
final class RunningBatch {
    private final KvCache kv;
    private final EngineCounters counters;
    private final List<RunningSequence> decoding = new ArrayList<>();
    private RunningSequence prefilling;
    // a copy of decoding.size() for readers on other threads (metrics)
    private volatile int decodingRows;

    RunningBatch(KvCache kv, EngineCounters counters) {
        this.kv = kv;
        this.counters = counters;
    }

    /** Whether a queued request could start in the row after the decoding ones. */
    boolean hasFreeRow() {
        return decoding.size() < kv.rows();
    }

    /** The row a sequence starting now gets. */
    int nextRow() {
        return decoding.size();
    }

    boolean hasDecoding() {
        return !decoding.isEmpty();
    }

    /** The decoding sequences; index {@code r} sits in KV row {@code r}. */
    List<RunningSequence> decoding() {
        return decoding;
    }

    /** The sequences decoding now; safe to read from any thread. */
    int decodingRows() {
        return decodingRows;
    }

    /** The sequence being prefilled, or null. */
    RunningSequence prefilling() {
        return prefilling;
    }

    void startPrefill(RunningSequence s) {
        prefilling = s;
    }

    /** Forgets the prefilling sequence (it finished, failed or was cancelled before joining the decoding ones). */
    void dropPrefilling() {
        prefilling = null;
    }

    /** Moves the prefilled sequence into the decoding batch; its row is already the one after them. */
    void promotePrefilling() {
        decoding.add(prefilling);
        prefilling = null;
        decodingRows = decoding.size();
    }

    /**
     * Takes the finished sequences out of the decoding batch and returns them (last row first), keeping the rest
     * contiguous by moving the last one into each hole, and the prefilling one right after them.
     */
    List<RunningSequence> retireFinished() {
        List<RunningSequence> finished = new ArrayList<>();
        for (int row = decoding.size() - 1; row >= 0; row--) {
            RunningSequence s = decoding.get(row);
            if (s.finished == null) {
                continue;
            }
            int last = decoding.size() - 1;
            if (row != last) {
                RunningSequence moved = decoding.get(last);
                moveRow(moved, row);
                decoding.set(row, moved);
            }
            decoding.remove(last);
            finished.add(s);
        }
        decodingRows = decoding.size();
        keepPrefillingNextToDecoding();
        return finished;
    }

    /** Empties the decoding batch (its KV rows are no longer trusted) and returns what it held. */
    List<RunningSequence> clearDecoding() {
        List<RunningSequence> all = List.copyOf(decoding);
        decoding.clear();
        decodingRows = 0;
        keepPrefillingNextToDecoding();
        return all;
    }

    /** Empties the batch, prefilling sequence too, without touching the KV cache (the engine is closing). */
    List<RunningSequence> drain() {
        List<RunningSequence> all = new ArrayList<>(decoding);
        if (prefilling != null) {
            all.add(prefilling);
        }
        decoding.clear();
        prefilling = null;
        decodingRows = 0;
        return all;
    }

    private void keepPrefillingNextToDecoding() {
        if (prefilling != null && prefilling.row != decoding.size()) {
            moveRow(prefilling, decoding.size());
        }
    }

    private void moveRow(RunningSequence s, int row) {
        kv.moveRow(s.row, row, s.length);
        counters.rowMove();
        s.row = row;
    }
}
