package dev.quiver.adapters.demo;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Sizes of generated models. {@code tiny} is for tests, {@code small} (~30M parameters) for the demo,
 * {@code qwen3-0.6b} has Qwen3-0.6B's real dimensions for speed benchmarks.
 */
public enum DemoSize {
    TINY("tiny", 64, 2, 4, 2, 16, 192, 1024, 2048),
    SMALL("small", 512, 8, 8, 4, 64, 1536, 4096, 4096),
    QWEN3_0_6B("qwen3-0.6b", 1024, 28, 16, 8, 128, 3072, 151936, 40960);

    private final String label;
    final int hidden;
    final int layers;
    final int heads;
    final int kvHeads;
    final int headDim;
    final int intermediate;
    /** Embedding rows; the generated tokenizer fills at most {@link #tokenizerVocab()} of them. */
    final int vocab;
    final int maxPositions;

    DemoSize(String label, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate, int vocab,
             int maxPositions) {
        this.label = label;
        this.hidden = hidden;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.intermediate = intermediate;
        this.vocab = vocab;
        this.maxPositions = maxPositions;
    }

    /** The name used on the command line. */
    public String label() {
        return label;
    }

    /** Size of the generated BPE vocabulary; like real Qwen checkpoints, the big model pads its embedding beyond it. */
    int tokenizerVocab() {
        return Math.min(vocab, 4096);
    }

    public static DemoSize parse(String label) {
        return Arrays.stream(values()).filter(s -> s.label.equals(label)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown size '" + label + "', expected one of "
                        + Arrays.stream(values()).map(DemoSize::label).collect(Collectors.joining(", "))));
    }
}
