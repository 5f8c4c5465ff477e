package dev.quiver.finetune.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetReaderTest {
    private static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
            + " {\"role\": \"assistant\", \"content\": \"hello\"}]}";

    @TempDir
    Path tmp;

    @Test
    void readsChatAndSkipsBlankLines() throws IOException {
        List<RawExample> examples = read(CHAT, "", "{\"messages\": [{\"role\": \"system\", \"content\": \"be brief\"},"
                + " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\","
                + " \"text\": \"b\"}]}, {\"role\": \"assistant\", \"content\": \"ok\", \"weight\": 0},"
                + " {\"role\": \"user\", \"content\": \"again\"}, {\"role\": \"assistant\", \"content\": \"done\"}]}");
        assertThat(examples).hasSize(2);
        RawExample.Chat second = (RawExample.Chat) examples.get(1);
        assertThat(second.line()).isEqualTo(3);
        assertThat(second.messages().get(1).get("content")).isEqualTo("ab");
        assertThat(second.targets()).containsExactly(false, false, false, false, true);
        assertThat(second.messages().get(2)).doesNotContainKey("weight");
    }

    @Test
    void readsPromptCompletion() throws IOException {
        List<RawExample> examples = read("{\"prompt\": \"2+2=\", \"completion\": \"4\"}");
        assertThat(examples).containsExactly(new RawExample.Completion(1, "2+2=", "4"));
    }

    @Test
    void reportsBadJsonWithItsLineNumber() {
        DatasetException e = failure(CHAT, "{\"messages\": [", CHAT);
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(2);
            assertThat(p.message()).startsWith("not valid JSON");
        });
        assertThat(e).hasMessageStartingWith("train.jsonl:2: not valid JSON");
    }

    @Test
    void reportsMissingMessages() {
        assertThat(failure(CHAT, "{\"conversation\": []}").problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(2);
            assertThat(p.message()).contains("missing \"messages\"");
        });
    }

    @Test
    void reportsConversationWithoutAssistantTurn() {
        DatasetException e = failure("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\":"
                        + " \"x\", \"weight\": 0}]}");
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(1, 2);
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.message()).contains("no assistant message"));
    }

    @Test
    void reportsEmptyAssistantTurnWithItsLineNumber() {
        DatasetException e = failure(CHAT,
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\","
                        + " \"content\": \"\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\","
                        + " \"content\": \"  \"}]}");
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(2, 3);
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.message())
                .startsWith("messages[1].content is empty; a learned assistant turn must hold the answer"));
    }

    @Test
    void acceptsEmptyAssistantTurnsThatAreNotLearnedOrCallTools() throws IOException {
        List<RawExample> examples = read("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
                + " {\"role\": \"assistant\", \"content\": \"\", \"weight\": 0},"
                + " {\"role\": \"user\", \"content\": \"weather?\"}, {\"role\": \"assistant\", \"content\": null,"
                + " \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"w\", \"arguments\": \"{}\"}}]}]}");
        assertThat(((RawExample.Chat) examples.get(0)).targets()).containsExactly(false, false, false, true);
    }

    @Test
    void reportsMixedForms() {
        DatasetException e = failure(CHAT, CHAT, "{\"prompt\": \"a\", \"completion\": \"b\"}");
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(3);
            assertThat(p.message()).contains("prompt/completion form but line 1 is in chat form");
        });
    }

    @Test
    void reportsEveryBadLineAtOnce() {
        DatasetException e = failure("[1, 2]",
                "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}",
                "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}",
                "{\"prompt\": \"a\", \"messages\": []}",
                "{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\", \"weight\": 0.5}]}",
                CHAT);
        assertThat(e.problems()).extracting(DatasetException.Problem::line).containsExactly(1, 2, 3, 4, 5);
        assertThat(e.problems().get(0).message()).contains("expected a JSON object, got an array");
        assertThat(e.problems().get(1).message()).contains("messages[0].role must be one of");
        assertThat(e.problems().get(2).message()).contains("messages[0].content is missing");
        assertThat(e.problems().get(3).message()).contains("has both");
        assertThat(e.problems().get(4).message()).contains("weight must be 0 or 1");
        assertThat(e).hasMessageStartingWith("5 problems: train.jsonl:1:");
    }

    @Test
    void reportsEmptyCompletionAndEmptyFile() {
        assertThat(failure("{\"prompt\": \"a\", \"completion\": \"\"}").problems().get(0).message())
                .contains("\"completion\" must be a non-empty string");
        assertThat(failure("", "  ").getMessage()).contains("holds no examples");
    }

    @Test
    void missingFileNamesThePath() {
        assertThatThrownBy(() -> new DatasetReader().read(tmp.resolve("nope.jsonl")))
                .hasMessageContaining("nope.jsonl");
    }

    @Test
    void reportsDeepNestingAsAProblemOfItsLine() {
        DatasetException e = failure("[".repeat(10_000), CHAT);
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(1);
            assertThat(p.message()).contains("exceeds a JSON limit").contains("nesting depth");
        });
    }

    @Test
    void reportsBytesThatAreNotUtf8WithLineAndOffset() throws IOException {
        Path file = tmp.resolve("latin1.jsonl");
        byte[] first = (CHAT + "\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] second = "{\"prompt\": \"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(file, concat(first, second));
        DatasetException e = catchThrowableOfType(DatasetException.class, () -> new DatasetReader().read(file));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(2);
            assertThat(p.message()).contains("byte 0xE9 at byte offset " + (first.length + 15))
                    .contains("must be UTF-8");
        });
    }

    @Test
    void readsCrLfAndAFinalLineWithoutNewline() throws IOException {
        Path file = tmp.resolve("crlf.jsonl");
        Files.writeString(file, CHAT + "\r\n\r\n" + CHAT);
        assertThat(new DatasetReader().read(file)).extracting(RawExample::line).containsExactly(1, 3);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private List<RawExample> read(String... lines) throws IOException {
        Path file = tmp.resolve("train.jsonl");
        Files.write(file, List.of(lines));
        return new DatasetReader().read(file);
    }

    private DatasetException failure(String... lines) {
        return catchThrowableOfType(DatasetException.class, () -> read(lines));
    }
}
