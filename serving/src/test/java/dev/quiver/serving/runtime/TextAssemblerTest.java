package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextAssemblerTest {
    @TempDir
    static Path tmp;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        tokenizer = Tokenizer.load(TestModels.tiny(tmp, ModelFamily.QWEN3));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static String stream(TextAssembler text, String input, StringBuilder streamed) {
        for (int id : tokenizer.encode(input)) {
            String delta = text.add(id);
            streamed.append(delta);
            if (text.stopped()) {
                break;
            }
        }
        streamed.append(text.flush());
        return text.text();
    }

    @Test
    void streamsTheWholeTextWhenNothingStops() {
        StringBuilder streamed = new StringBuilder();
        String text = stream(new TextAssembler(tokenizer, List.of()), "hello world, ünïcode too", streamed);
        assertThat(text).isEqualTo("hello world, ünïcode too");
        assertThat(streamed.toString()).isEqualTo(text);
    }

    @Test
    void cutsBeforeTheFirstStopStringAndNeverStreamsIt() {
        StringBuilder streamed = new StringBuilder();
        TextAssembler text = new TextAssembler(tokenizer, List.of("is a", "zzz"));
        String result = stream(text, "hello world, this is a test", streamed);
        assertThat(result).isEqualTo("hello world, this ");
        assertThat(streamed.toString()).isEqualTo(result);
        assertThat(text.stopped()).isTrue();
    }

    @Test
    void holdsBackAPossibleStopPrefixUntilItIsDecided() {
        TextAssembler text = new TextAssembler(tokenizer, List.of("END!"));
        StringBuilder streamed = new StringBuilder();
        for (int id : tokenizer.encode("abc EN")) {
            streamed.append(text.add(id));
        }
        assertThat(streamed.toString()).isEqualTo("abc ");
        assertThat(text.flush()).isEqualTo("EN");
    }

    @Test
    void stopStringsNeedATokenizer() {
        assertThatThrownBy(() -> new TextAssembler(null, List.of("x"))).hasMessageContaining("tokenizer");
    }
}
