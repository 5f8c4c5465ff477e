package dev.quiver.adapters.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BpeTokenizerBuilderTest {

    private final ObjectMapper json = new ObjectMapper();

    private String built;
    private JsonNode root;

    @BeforeAll
    void buildOnce() throws Exception {
        built = BpeTokenizerBuilder.build(1024);
        root = json.readTree(built);
    }

    @Test
    void buildIsDeterministic() {
        assertThat(BpeTokenizerBuilder.build(1024)).isEqualTo(built);
    }

    @Test
    void fillsTheRequestedVocabularyWithBpeTokensThenAddedTokens() {
        assertThat(root.at("/model/vocab").size()).isEqualTo(1024 - BpeTokenizerBuilder.SPECIAL_TOKENS.size());
        assertThat(root.at("/model/merges").size()).isEqualTo(1019 - 256);

        List<String> contents = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        List<Boolean> special = new ArrayList<>();
        root.get("added_tokens").forEach(t -> {
            contents.add(t.get("content").asText());
            ids.add(t.get("id").asInt());
            special.add(t.get("special").asBoolean());
        });
        assertThat(contents).containsExactlyElementsOf(BpeTokenizerBuilder.SPECIAL_TOKENS);
        assertThat(ids).containsExactly(1019, 1020, 1021, 1022, 1023);
        assertThat(special).containsExactly(true, true, true, false, false);
    }

    @Test
    void byteTokensUseGpt2IdsAndAlphabet() {
        JsonNode vocab = root.at("/model/vocab");
        assertThat(vocab.get("!").asInt()).isZero();
        assertThat(vocab.get("Ā").asInt()).as("byte 0x00").isEqualTo(188);
        assertThat(vocab.get("Ċ").asInt()).as("newline").isEqualTo(198);
        assertThat(vocab.get("Ġ").asInt()).as("space").isEqualTo(220);
        assertThat(vocab.get("ÿ").asInt()).as("byte 0xFF").isEqualTo(187);
    }

    @Test
    void layoutMirrorsQwen2() {
        assertThat(root.at("/normalizer/type").asText()).isEqualTo("NFC");
        assertThat(root.at("/pre_tokenizer/type").asText()).isEqualTo("Sequence");
        JsonNode split = root.at("/pre_tokenizer/pretokenizers/0");
        assertThat(split.get("type").asText()).isEqualTo("Split");
        assertThat(split.at("/pattern/Regex").asText()).isEqualTo(
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                        + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        assertThat(split.get("behavior").asText()).isEqualTo("Isolated");
        assertThat(split.get("invert").asBoolean()).isFalse();
        for (String path : List.of("/pre_tokenizer/pretokenizers/1", "/post_processor", "/decoder")) {
            JsonNode byteLevel = root.at(path);
            assertThat(byteLevel.get("type").asText()).as(path).isEqualTo("ByteLevel");
            assertThat(byteLevel.get("add_prefix_space").asBoolean()).as(path).isFalse();
            assertThat(byteLevel.get("use_regex").asBoolean()).as(path).isFalse();
        }
        JsonNode model = root.get("model");
        assertThat(model.get("type").asText()).isEqualTo("BPE");
        assertThat(model.get("dropout").isNull()).isTrue();
        assertThat(model.get("unk_token").isNull()).isTrue();
        assertThat(model.get("byte_fallback").asBoolean()).isFalse();
        assertThat(model.get("ignore_merges").asBoolean()).isFalse();
    }

    @Test
    void everyMergeJoinsTwoKnownTokensIntoAKnownToken() {
        JsonNode vocab = root.at("/model/vocab");
        root.at("/model/merges").forEach(merge -> {
            String[] parts = merge.asText().split(" ");
            assertThat(parts).as(merge.asText()).hasSize(2);
            int left = vocab.get(parts[0]).asInt();
            int right = vocab.get(parts[1]).asInt();
            assertThat(vocab.get(parts[0] + parts[1]).asInt()).as(merge.asText()).isGreaterThan(Math.max(left, right));
        });
    }

    @Test
    void firstMergesAreTheCorpusMostCommonPairs() {
        assertThat(root.at("/model/merges/0").asText()).isEqualTo("Ġ t");
        assertThat(root.at("/model/merges").toString()).contains("\"Ġt he\"");
    }

    @Test
    void stopsWhenNoPairRepeatsInsteadOfPaddingTheVocabulary() throws Exception {
        JsonNode huge = json.readTree(BpeTokenizerBuilder.build(50_000));
        int total = huge.at("/model/vocab").size() + huge.get("added_tokens").size();
        assertThat(total).isGreaterThan(2_000).isLessThan(50_000);
        assertThat(huge.get("added_tokens").get(0).get("id").asInt()).isEqualTo(huge.at("/model/vocab").size());
    }

    @Test
    void rejectsAVocabularyTooSmallForBytesAndAddedTokens() {
        assertThatThrownBy(() -> BpeTokenizerBuilder.build(260))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("vocabSize 260")
                .hasMessageContaining("at least 261");
    }
}
