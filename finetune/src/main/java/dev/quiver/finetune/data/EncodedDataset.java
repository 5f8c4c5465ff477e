package dev.quiver.finetune.data;

import java.util.List;

/**
 * A tokenized dataset and what tokenizing it cost: examples cut to the maximum length, and examples
 * dropped because the cut left nothing to learn.
 *
 * @param truncatedLines lines of examples that were cut (kept), in file order
 * @param droppedLines   lines of examples that were cut so far that no target token was left
 */
public record EncodedDataset(List<EncodedExample> examples, List<Integer> truncatedLines,
                             List<Integer> droppedLines) {

    public EncodedDataset {
        examples = List.copyOf(examples);
        truncatedLines = List.copyOf(truncatedLines);
        droppedLines = List.copyOf(droppedLines);
    }

    public int size() {
        return examples.size();
    }

    public long tokens() {
        return examples.stream().mapToLong(EncodedExample::length).sum();
    }

    public long targetTokens() {
        return examples.stream().mapToLong(EncodedExample::targetCount).sum();
    }
}
