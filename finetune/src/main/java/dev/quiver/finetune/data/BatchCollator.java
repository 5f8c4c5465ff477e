package dev.quiver.finetune.data;

import dev.quiver.finetune.model.Tokens;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Lays the examples of one optimizer step out as micro-batches of at most {@code tokenBudget} tokens
 * (padding included), so a step of any size fits in memory and its gradient is accumulated over them.
 * Padded (the default, as TRL): one example per row, rows sorted longest first so that similar lengths
 * share a micro-batch. Packed: examples are concatenated into rows of up to {@code packLength} tokens,
 * each keeping its own positions and attending only to itself, so packing changes speed, not results.
 */
public final class BatchCollator {
    private final int tokenBudget;
    private final boolean packing;
    private final int packLength;

    public BatchCollator(int tokenBudget, boolean packing, int packLength) {
        if (tokenBudget <= 0 || packLength <= 0) {
            throw new IllegalArgumentException("token budget and pack length must be positive");
        }
        this.tokenBudget = tokenBudget;
        this.packing = packing;
        this.packLength = packLength;
    }

    /** The micro-batches of one step; every example lands in exactly one. */
    public List<Batch> collate(List<EncodedExample> examples) {
        List<EncodedExample> ordered = new ArrayList<>(examples);
        // stable sort: equal lengths keep the seeded shuffle order, so the layout is reproducible
        ordered.sort(Comparator.comparingInt(EncodedExample::length).reversed());
        List<List<EncodedExample>> rows = packing ? pack(ordered) : ordered.stream().map(List::of).toList();
        List<Batch> batches = new ArrayList<>();
        List<List<EncodedExample>> group = new ArrayList<>();
        int groupLength = 0;
        for (List<EncodedExample> row : rows) {
            int len = rowLength(row);
            int widest = Math.max(groupLength, len);
            if (!group.isEmpty() && (long) widest * (group.size() + 1) > tokenBudget) {
                batches.add(batch(group, groupLength));
                group = new ArrayList<>();
                widest = len;
            }
            group.add(row);
            groupLength = widest;
        }
        batches.add(batch(group, groupLength));
        return batches;
    }

    // first fit over length-sorted examples: a long example opens a row that short ones fill up
    private List<List<EncodedExample>> pack(List<EncodedExample> sorted) {
        List<List<EncodedExample>> rows = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (EncodedExample e : sorted) {
            int at = -1;
            for (int r = 0; r < rows.size() && at < 0; r++) {
                if (used.get(r) + e.length() <= packLength) {
                    at = r;
                }
            }
            if (at < 0) {
                rows.add(new ArrayList<>());
                used.add(0);
                at = rows.size() - 1;
            }
            rows.get(at).add(e);
            used.set(at, used.get(at) + e.length());
        }
        return rows;
    }

    private static int rowLength(List<EncodedExample> row) {
        return row.stream().mapToInt(EncodedExample::length).sum();
    }

    private static Batch batch(List<List<EncodedExample>> rows, int length) {
        int n = rows.size() * length;
        int[] ids = new int[n];
        int[] positions = new int[n];
        int[] segments = new int[n];
        int[] targets = new int[n];
        Arrays.fill(targets, -1);
        for (int r = 0; r < rows.size(); r++) {
            int at = r * length;
            int segment = 0;
            for (EncodedExample e : rows.get(r)) {
                segment++;
                for (int t = 0; t < e.length(); t++) {
                    ids[at + t] = e.ids()[t];
                    positions[at + t] = t;
                    segments[at + t] = segment;
                    if (t + 1 < e.length() && e.targets()[t + 1]) {
                        targets[at + t] = e.ids()[t + 1];
                    }
                }
                at += e.length();
            }
        }
        return new Batch(new Tokens(rows.size(), length, ids, positions, segments), targets);
    }
}
