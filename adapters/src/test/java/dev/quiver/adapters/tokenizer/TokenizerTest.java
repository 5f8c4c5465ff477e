package dev.quiver.adapters.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerTest {

    private Tokenizer tokenizer;

    @BeforeAll
    void buildAndLoad(@TempDir Path modelDir) throws Exception {
        Files.writeString(modelDir.resolve("tokenizer.json"), BpeTokenizerBuilder.build(1024));
        tokenizer = Tokenizer.load(modelDir);
    }

    @AfterAll
    void close() {
        tokenizer.close();
    }

    @Test
    void roundTripsUnicodeText() {
        String text = "Héllo wörld — café, naïve résumé.\n日本語のテキスト 🎉🚀 ünïcödé\n"
                + "\tTabbed line\n   three leading spaces\r\nCRLF and trailing spaces   ";

        int[] ids = tokenizer.encode(text);

        assertThat(ids).isNotEmpty();
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void roundTripsLeadingSpaceAndEmptyText() {
        assertThat(tokenizer.decode(tokenizer.encode(" leading space"))).isEqualTo(" leading space");
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.decode(new int[0])).isEmpty();
    }

    @Test
    void commonWordsBecomeSingleTokens() {
        assertThat(tokenizer.encode(" the")).containsExactly(id("Ġthe"));
        assertThat(tokenizer.encode(" customer")).containsExactly(id("Ġcustomer"));
        assertThat(tokenizer.encode(" order")).containsExactly(id("Ġorder"));
        assertThat(tokenizer.encode(" ordering")).containsExactly(id("Ġorder"), id("ing"));
        assertThat(tokenizer.encode("The customer's order"))
                .containsExactly(id("The"), id("Ġcustomer"), id("'s"), id("Ġorder"));
    }

    @Test
    void specialTokensInTextAreOneIdEachAndDecodeBack() {
        String text = "<|im_start|>user\nHi<|im_end|>\n<tool_call>\n{}\n</tool_call><|endoftext|>";

        int[] ids = tokenizer.encode(text);

        assertThat(ids[0]).isEqualTo(id("<|im_start|>"));
        assertThat(ids[ids.length - 1]).isEqualTo(id("<|endoftext|>"));
        assertThat(ids).contains(id("<|im_end|>"), id("<tool_call>"), id("</tool_call>"));
        assertThat(Arrays.stream(ids).filter(i -> i >= 1019).count()).isEqualTo(5);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void skippingSpecialTokensKeepsToolCallMarkers() {
        int[] ids = tokenizer.encode("<|im_start|>assistant\n<tool_call>\n{}\n</tool_call><|im_end|>\n");

        assertThat(tokenizer.decode(ids, true)).isEqualTo("assistant\n<tool_call>\n{}\n</tool_call>\n");
        assertThat(tokenizer.decode(ids, false)).startsWith("<|im_start|>assistant");
    }

    @Test
    void encodesChatMlPromptWithTurnMarkersAsSingleTokens() {
        String prompt = ChatTemplate.of(ChatTemplate.CHATML, null, "<|im_end|>")
                .render(List.of(Map.of("role", "user", "content", "Where is my order?")), null, true);

        int[] ids = tokenizer.encode(prompt);

        assertThat(Arrays.stream(ids).filter(i -> i == id("<|im_start|>")).count()).isEqualTo(2);
        assertThat(Arrays.stream(ids).filter(i -> i == id("<|im_end|>")).count()).isEqualTo(1);
        assertThat(tokenizer.decode(ids)).isEqualTo(prompt);
    }

    @Test
    void doesNotTruncateLongText() {
        String text = "The customer asked about the order. ".repeat(200);

        int[] ids = tokenizer.encode(text);

        assertThat(ids.length).isGreaterThan(1_000);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void vocabSizeCountsAddedTokens() {
        assertThat(tokenizer.vocabSize()).isEqualTo(1024);
        for (int i = 0; i < BpeTokenizerBuilder.SPECIAL_TOKENS.size(); i++) {
            assertThat(tokenizer.tokenId(BpeTokenizerBuilder.SPECIAL_TOKENS.get(i))).hasValue(1019 + i);
        }
    }

    @Test
    void tokenIdIsEmptyForUnknownTokens() {
        assertThat(tokenizer.tokenId("<|not_a_token|>")).isEmpty();
        assertThat(tokenizer.tokenId("!")).hasValue(0);
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {5, 1024}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 1024 at position 1")
                .hasMessageContaining("1024 tokens");
        assertThatThrownBy(() -> tokenizer.decode(new int[] {-1})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void missingTokenizerJsonIsAnErrorNamingThePath(@TempDir Path empty) {
        assertThatThrownBy(() -> Tokenizer.load(empty))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining(empty.resolve("tokenizer.json").toAbsolutePath().toString())
                .hasMessageContaining("BpeTokenizerBuilder");
    }

    @Test
    void unparsableTokenizerJsonIsAnErrorNamingThePath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"vocab\": ");

        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("could not parse " + file.toAbsolutePath());
    }

    @Test
    void tokenizerJsonTheNativeLibraryRejectsIsAnErrorNamingThePath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}");

        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("the tokenizers library rejected " + file.toAbsolutePath());
    }

    private int id(String token) {
        OptionalInt id = tokenizer.tokenId(token);
        assertThat(id).as("token %s is in the vocabulary", token).isPresent();
        return id.getAsInt();
    }
}
