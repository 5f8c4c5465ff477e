package dev.quiver.serving.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoSize;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeBenchmarkTest {
    @TempDir
    Path work;

    @Test
    void printsOneJsonLineWithBaseAndMultiAdapterFiguresAndTheirRatio() throws Exception {
        String line = ServeBenchmark.run(ServeBenchmark.Options.parse("--size", "tiny", "--adapters", "2",
                "--concurrency", "2", "--prompt-len", "8", "--gen-len", "4", "--work-dir", work.toString()));

        assertThat(line).doesNotContain("\n");
        JsonNode json = new ObjectMapper().readTree(line);
        assertThat(json.get("model").asText()).isEqualTo("tiny");
        assertThat(json.get("adapters").asInt()).isEqualTo(2);
        for (String phase : new String[] {"base", "multi"}) {
            JsonNode p = json.get(phase);
            assertThat(p.get("requests").asInt()).as(phase).isEqualTo(2 * 2 * 3);
            for (String field : new String[] {"prefill_tok_s", "decode_tok_s", "output_tok_s", "ttft_ms_p50",
                    "ttft_ms_p99", "itl_ms_p50", "itl_ms_p99"}) {
                assertThat(p.get(field).asDouble()).as(phase + "." + field).isPositive();
            }
            assertThat(p.get("ttft_ms_p99").asDouble()).isGreaterThanOrEqualTo(p.get("ttft_ms_p50").asDouble());
        }
        double ratio = json.get("multi_over_base_output_tok_s").asDouble();
        assertThat(ratio).isCloseTo(json.get("multi").get("output_tok_s").asDouble()
                / json.get("base").get("output_tok_s").asDouble(), org.assertj.core.data.Offset.offset(0.002));
        assertThat(json.get("adapter_cold_load_ms_p50").asDouble()).isPositive();
        assertThat(json.get("adapter_mb").asDouble()).isPositive();
        assertThat(json.get("peak_rss_mb").asDouble()).isGreaterThanOrEqualTo(json.get("rss_mb_open").asDouble());
        // the model and adapters stay in the work dir for the next run
        assertThat(work.resolve("model-qwen3-tiny").resolve("config.json")).exists();
        try (var dirs = Files.list(work.resolve("adapters-qwen3-tiny-r16"))) {
            assertThat(dirs.count()).isEqualTo(2);
        }
    }

    @Test
    void withoutAdaptersOnlyTheBaseIsMeasured() throws Exception {
        JsonNode json = new ObjectMapper().readTree(ServeBenchmark.run(new ServeBenchmark.Options(DemoSize.TINY, 0, 1,
                4, 3, work)));
        assertThat(json.get("base").get("output_tok_s").asDouble()).isPositive();
        assertThat(json.get("multi").isNull()).isTrue();
        assertThat(json.get("multi_over_base_output_tok_s").isNull()).isTrue();
        assertThat(json.get("adapter_cold_load_ms_p50").isNull()).isTrue();
    }

    @Test
    void rejectsUnknownOptionsNamingThem() {
        assertThatThrownBy(() -> ServeBenchmark.Options.parse("--adaptors", "2"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--adaptors");
        assertThatThrownBy(() -> ServeBenchmark.Options.parse("--size", "huge"))
                .hasMessageContaining("huge");
    }
}
