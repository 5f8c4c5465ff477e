package dev.quiver.finetune.event;

import java.util.List;

/**
 * The size of a tokenized dataset and what fitting it to the maximum length cost.
 *
 * @param truncatedLines lines of examples cut to {@code maxSeqLength} tokens
 * @param droppedLines   lines of examples with no target token left after the cut
 */
public record DatasetSummary(String source, int examples, long tokens, long targetTokens, List<Integer> truncatedLines,
                             List<Integer> droppedLines) {

    public DatasetSummary {
        truncatedLines = List.copyOf(truncatedLines);
        droppedLines = List.copyOf(droppedLines);
    }
}
