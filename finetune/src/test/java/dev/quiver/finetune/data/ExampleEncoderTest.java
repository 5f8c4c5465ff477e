package dev.quiver.finetune.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.finetune.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExampleEncoderTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Tokenizer tokenizer;
    static ChatTemplate template;

    @BeforeAll
    static void loadTokenizer() throws IOException {
        model = TinyModels.qwen3(tmp);
        tokenizer = Tokenizer.load(model);
        template = ChatTemplate.load(model);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    @Test
    void collatorLabelsOnlyTheAssistantAnswerAndItsEndOfTurn() {
        RawExample.Chat chat = new RawExample.Chat(1, List.of(
                Map.of("role", "system", "content", "Sort tickets."),
                Map.of("role", "user", "content", "My invoice is wrong"),
                Map.of("role", "assistant", "content", "billing")), null, List.of(false, false, true));
        EncodedExample e = encoder(512).encode(chat);
        Batch batch = new BatchCollator(4096, false, 512).collate(List.of(e)).get(0);

        assertThat(tokenizer.decode(e.ids())).isEqualTo("<|im_start|>system\nSort tickets.<|im_end|>\n"
                + "<|im_start|>user\nMy invoice is wrong<|im_end|>\n<|im_start|>assistant\nbilling<|im_end|>\n");
        assertThat(labelled(batch)).isEqualTo("billing<|im_end|>");
        // labels are shifted: position i holds the token after it, and the trailing newline is not learned
        int[] targets = batch.targets();
        int firstLabel = indexOfFirstLabel(targets);
        assertThat(targets[firstLabel]).isEqualTo(e.ids()[firstLabel + 1]);
        assertThat(targets[targets.length - 1]).isEqualTo(-1);
        assertThat(targets[targets.length - 2]).isEqualTo(-1);
        assertThat(e.ids()[e.length() - 2]).isEqualTo(tokenizer.tokenId("<|im_end|>").orElseThrow());
    }

    @Test
    void everyLearnedAssistantTurnIsLabelledAndWeightZeroTurnsAreNot() {
        RawExample.Chat chat = new RawExample.Chat(1, List.of(
                Map.of("role", "user", "content", "one"),
                Map.of("role", "assistant", "content", "first"),
                Map.of("role", "user", "content", "two"),
                Map.of("role", "assistant", "content", "second"),
                Map.of("role", "user", "content", "three"),
                Map.of("role", "assistant", "content", "third")), null,
                List.of(false, true, false, false, false, true));
        Batch batch = new BatchCollator(4096, false, 512).collate(List.of(encoder(512).encode(chat))).get(0);
        assertThat(labelled(batch)).isEqualTo("first<|im_end|>third<|im_end|>");
    }

    @Test
    void completionFormLearnsTheCompletionAndAnEndOfTurn() {
        EncodedExample e = encoder(512).encode(new RawExample.Completion(1, "Capital of France:", " Paris"));
        Batch batch = new BatchCollator(4096, false, 512).collate(List.of(e)).get(0);
        assertThat(tokenizer.decode(e.ids())).isEqualTo("Capital of France: Paris<|im_end|>");
        assertThat(labelled(batch)).isEqualTo(" Paris<|im_end|>");
    }

    @Test
    void longExamplesAreTruncatedCountedAndDroppedWhenNothingIsLeftToLearn() throws IOException {
        String longPrompt = "word ".repeat(200);
        List<RawExample> raw = List.of(
                new RawExample.Completion(1, "short", " answer"),
                new RawExample.Completion(2, "a bit longer prompt here", " answer that runs on and on and on"),
                new RawExample.Completion(3, longPrompt, " lost"));
        EncodedDataset d = encoder(16).encodeAll(Path.of("train.jsonl"), raw);
        assertThat(d.truncatedLines()).containsExactly(2, 3);
        assertThat(d.droppedLines()).containsExactly(3);
        assertThat(d.examples()).extracting(EncodedExample::line).containsExactly(1, 2);
        assertThat(d.examples().get(1).length()).isEqualTo(16);
        assertThat(d.examples().get(1).truncated()).isTrue();
    }

    @Test
    void fileWhereNoExampleSurvivesTruncationNamesEveryLine() {
        String longPrompt = "word ".repeat(200);
        List<RawExample> raw = List.of(new RawExample.Completion(2, longPrompt, " lost"),
                new RawExample.Completion(5, longPrompt + "more", " also lost"));
        DatasetException e = catchThrowableOfType(DatasetException.class,
                () -> encoder(16).encodeAll(Path.of("train.jsonl"), raw));
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(2, 5);
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.message())
                .contains("no assistant or completion token is left within max_seq_length 16"));
        assertThat(e).hasMessageStartingWith("2 problems: train.jsonl:2: no assistant or completion token");
    }

    @Test
    void paddedMicroBatchesRespectTheTokenBudget() {
        List<EncodedExample> examples = new ArrayList<>();
        for (int len : new int[] {10, 3, 8, 5, 9}) {
            boolean[] targets = new boolean[len];
            Arrays.fill(targets, 1, len, true);
            examples.add(new EncodedExample(len, new int[len], targets, false));
        }
        List<Batch> batches = new BatchCollator(20, false, 64).collate(examples);
        // sorted longest first: [10, 9] (2 x 10), [8, 5] (2 x 8), [3]
        assertThat(batches).extracting(b -> b.tokens().rows() + "x" + b.tokens().length())
                .containsExactly("2x10", "2x8", "1x3");
        assertThat(batches.stream().mapToInt(Batch::targetCount).sum()).isEqualTo(9 + 2 + 7 + 4 + 8);
    }

    private static ExampleEncoder encoder(int maxLength) {
        return new ExampleEncoder(tokenizer, template, "<|im_end|>", maxLength);
    }

    /** The text of the tokens the loss is taken on, in order. */
    private static String labelled(Batch batch) {
        int[] t = batch.targets();
        return tokenizer.decode(Arrays.stream(t).filter(id -> id >= 0).toArray());
    }

    private static int indexOfFirstLabel(int[] targets) {
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] >= 0) {
                return i;
            }
        }
        return -1;
    }
}
