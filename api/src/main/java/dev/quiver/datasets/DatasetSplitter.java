package dev.quiver.datasets;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Deduplicates examples and splits them into training and held-out sets, deterministically for a seed.
 * Exact duplicates (same input and answer) and near duplicates (same input once case, whitespace and
 * punctuation are normalised) are removed; the split is by group (the normalised input with digits masked),
 * so variants that differ only in a number never straddle the two sets.
 */
public final class DatasetSplitter {
    /** One usable call: its input text (what dedupe looks at), the training line, and its answer. */
    public record Example(String input, String line, String answer) {
    }

    /** The two sets and what was removed on the way. */
    public record Split(List<Example> training, List<Example> heldout, int exactDuplicates, int nearDuplicates,
                        int groups) {
    }

    private DatasetSplitter() {
    }

    /** Splits {@code examples}, about {@code heldoutFraction} of the groups held out, at least one group each way. */
    public static Split split(List<Example> examples, double heldoutFraction, long seed) {
        Set<String> exact = new HashSet<>();
        Set<String> near = new HashSet<>();
        Map<String, List<Example>> groups = new LinkedHashMap<>();
        int exactDuplicates = 0;
        int nearDuplicates = 0;
        for (Example e : examples) {
            if (!exact.add(e.input() + "\u0000" + e.answer())) {
                exactDuplicates++;
                continue;
            }
            String normalised = normalise(e.input());
            if (!near.add(normalised)) {
                nearDuplicates++;
                continue;
            }
            groups.computeIfAbsent(normalised.replaceAll("[0-9]+", "0"), k -> new ArrayList<>()).add(e);
        }
        List<String> order = new ArrayList<>(groups.keySet());
        order.sort(Comparator.comparing(k -> hash(seed + ":" + k)));
        int held = groups.size() < 2 ? 0 : Math.max(1, Math.min(groups.size() - 1,
                (int) Math.round(groups.size() * heldoutFraction)));
        List<Example> heldout = new ArrayList<>();
        List<Example> training = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
            (i < held ? heldout : training).addAll(groups.get(order.get(i)));
        }
        return new Split(training, heldout, exactDuplicates, nearDuplicates, groups.size());
    }

    static String normalise(String text) {
        return text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}]+", " ").strip();
    }

    private static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
