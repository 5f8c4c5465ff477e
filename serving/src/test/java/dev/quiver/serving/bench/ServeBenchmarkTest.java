package dev.quiver.serving.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.ExecutionProvider;
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
                "--concurrency", "2", "--prompt-len", "8", "--gen-len", "4", "--work-dir", work.toString(),
                "--threads", "1", "--quantize", "none"));

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
        assertThat(json.get("threads").asInt()).isEqualTo(1);
        assertThat(json.get("quantize").asText()).isEqualTo("none");
        assertThat(json.get("execution_provider").asText()).isEqualTo("cpu");

        // the ceilings: fp32 weights are 4 bytes per parameter (plus the small RoPE tables), and the two ratios
        // are the measured figures over them
        double params = ModelConfig.load(work.resolve("model-qwen3-tiny")).parameterCount();
        assertThat(json.get("weight_bytes").asDouble()).isBetween(4 * params * 0.99, 4 * params * 1.05);
        double bandwidth = json.get("bandwidth_gb_s").asDouble();
        assertThat(bandwidth).isPositive();
        double bound = json.get("decode_bound_tok_s").asDouble();
        assertThat(bound).isCloseTo(bandwidth * 1e9 / json.get("weight_bytes").asDouble(), withinPercentage(1));
        assertThat(json.get("decode_over_bound").asDouble()).isPositive();
        double peak = json.get("matmul_peak_gflops").asDouble();
        assertThat(peak).isPositive();
        assertThat(json.get("matmul_peak_shape").asText()).isEqualTo("256x64x192 fp32");
        assertThat(json.get("prefill_over_matmul_peak").asDouble())
                .isCloseTo(json.get("prefill_gflops").asDouble() / peak, withinPercentage(2));
        // tiny at an 8-token prompt: 215,296 FLOPs per prompt token (PrefillFlopsTest)
        assertThat(json.get("prefill_gflops").asDouble())
                .isCloseTo(json.get("base").get("prefill_tok_s").asDouble() * 215_296 / 1e9, withinPercentage(2));
        // the model and adapters stay in the work dir for the next run
        assertThat(work.resolve("model-qwen3-tiny").resolve("config.json")).exists();
        try (var dirs = Files.list(work.resolve("adapters-qwen3-tiny-r16"))) {
            assertThat(dirs.count()).isEqualTo(2);
        }
    }

    @Test
    void withoutAdaptersOnlyTheBaseIsMeasured() throws Exception {
        JsonNode json = new ObjectMapper().readTree(ServeBenchmark.run(new ServeBenchmark.Options(DemoSize.TINY, 0, 1,
                4, 3, work, Quantization.NONE, 1, ExecutionProvider.CPU)));
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
        assertThatThrownBy(() -> ServeBenchmark.Options.parse("--quantize", "int3"))
                .hasMessageContaining("none, int8, int4").hasMessageContaining("int3");
        assertThatThrownBy(() -> ServeBenchmark.Options.parse("--execution-provider", "tpu"))
                .hasMessageContaining("cpu, cuda or cuda:N").hasMessageContaining("tpu");
    }
}
