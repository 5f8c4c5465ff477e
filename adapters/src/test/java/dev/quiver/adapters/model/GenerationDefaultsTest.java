package dev.quiver.adapters.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationDefaultsTest {
    @TempDir
    Path dir;

    @Test
    void readsQwen3sPublishedSamplingDefaults() throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
                 "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95,
                 "transformers_version": "4.51.0"}
                """);
        assertThat(GenerationDefaults.load(dir)).isEqualTo(new GenerationDefaults(0.6, 0.95, 20));
    }

    @Test
    void unsetFieldsFallBackToTheRequestDefaults() throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": false, \"eos_token_id\": 2}");
        GenerationDefaults d = GenerationDefaults.load(dir);
        assertThat(d.temperatureOr(1.0)).isEqualTo(1.0);
        assertThat(d.topPOr(1.0)).isEqualTo(1.0);
        assertThat(d.topKOr(0)).isZero();
    }

    @Test
    void aDirectoryWithoutTheFileHasNoDefaults() throws IOException {
        assertThat(GenerationDefaults.load(dir)).isEqualTo(GenerationDefaults.NONE);
    }

    @Test
    void aMistypedFieldIsNamed() throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), "{\"top_k\": \"20\"}");
        assertThatThrownBy(() -> GenerationDefaults.load(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("generation_config.json: top_k must be a non-negative integer");
    }
}
