package dev.quiver.serving.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrefillFlopsTest {
    @TempDir
    Path tmp;

    @Test
    void countsTwiceTheLinearParamsCausalAttentionAndOneLmHeadRowPerPrompt() throws Exception {
        // tiny: hidden 64, 2 layers, 4 heads of 16, 2 KV heads, intermediate 192, vocab 1024
        ModelConfig c = ModelConfig.load(TestModels.tiny(tmp, ModelFamily.QWEN3));
        long linearPerLayer = 64 * 64 + 64 * 32 + 64 * 32 + 64 * 64 + 3 * 64 * 192;
        double linear = 2.0 * 2 * linearPerLayer;
        // positions 0..7 attend to 1..8 keys: 4 FLOPs per key per head dim (QK^T and AV), 36 keys over 8 tokens
        double attention = 4.0 * 2 * 4 * 16 * 36 / 8;
        double head = 2.0 * 1024 * 64 / 8;
        assertThat(PrefillFlops.perToken(c, 8)).isEqualTo(linear + attention + head);
        assertThat(linear + attention + head).isEqualTo(215_296);
    }
}
