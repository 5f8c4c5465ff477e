package dev.quiver.adapters.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.safetensors.SafetensorsWriter;
import dev.quiver.adapters.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterTest {
    /** A small Qwen3: hidden 32, 2 layers, 4 heads of 8, 2 kv heads, MLP 64. */
    static final ModelConfig BASE = new ModelConfig(ModelFamily.QWEN3, 32, 2, 4, 2, 8, 64, 100, 128, 1e-6, 1e6,
            null, true, false, 0, List.of(1), DType.F32);

    /** adapter_config.json as PEFT 0.13 writes it for a Qwen LoRA. */
    static final String PEFT_CONFIG = """
            {"alpha_pattern":{},"auto_mapping":null,"base_model_name_or_path":"Qwen/Qwen3-0.6B","bias":"none",
             "eva_config":null,"exclude_modules":null,"fan_in_fan_out":false,"inference_mode":true,
             "init_lora_weights":true,"layer_replication":null,"layers_pattern":null,"layers_to_transform":null,
             "loftq_config":{},"lora_alpha":16,"lora_bias":false,"lora_dropout":0.05,"megatron_config":null,
             "megatron_core":"megatron.core","modules_to_save":null,"peft_type":"LORA","r":4,"rank_pattern":{},
             "revision":null,"target_modules":["v_proj","q_proj"],"task_type":"CAUSAL_LM","use_dora":false,
             "use_rslora":false}""";

    @TempDir
    Path dir;

    @Test
    void readsAnAdapterWrittenByPeft() throws IOException {
        Path a = peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj"));
        PeftAdapter adapter = PeftAdapter.read(a);
        assertThat(adapter.weights().keySet()).containsExactly(
                "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");
        LoraWeights v = adapter.weights().get("model.layers.1.self_attn.v_proj");
        assertThat(v.rank()).isEqualTo(4);
        assertThat(v.in()).isEqualTo(32);
        assertThat(v.out()).isEqualTo(16);
        assertThat(v.a()[5]).isEqualTo(value("model.layers.1.self_attn.v_proj", 'A', 5));
        assertThat(adapter.config().scaleFor("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);
        assertThatCode(() -> adapter.validateAgainst(BASE, 64)).doesNotThrowAnyException();
    }

    @Test
    void roundTripsThroughItsOwnWriter() throws IOException {
        PeftAdapter original = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj")));
        Path out = dir.resolve("copy");
        original.write(out, DType.F32);
        PeftAdapter copy = PeftAdapter.read(out);
        assertThat(copy.config()).isEqualTo(original.config());
        assertThat(copy.weights().keySet()).containsExactlyElementsOf(original.weights().keySet());
        for (String m : original.weights().keySet()) {
            assertThat(copy.weights().get(m).a()).containsExactly(original.weights().get(m).a());
            assertThat(copy.weights().get(m).b()).containsExactly(original.weights().get(m).b());
        }
        String json = Files.readString(out.resolve("adapter_config.json"));
        assertThat(json).contains("\"peft_type\" : \"LORA\"").contains("\"task_type\" : \"CAUSAL_LM\"")
                .contains("\"use_dora\" : false");
    }

    @Test
    void rankAndAlphaPatternsAndRsLoraSetPerModuleScale() throws IOException {
        String config = PEFT_CONFIG.replace("\"rank_pattern\":{}", "\"rank_pattern\":{\"v_proj\":2}")
                .replace("\"alpha_pattern\":{}", "\"alpha_pattern\":{\"layers.1.self_attn.q_proj\":32}");
        PeftAdapter adapter = PeftAdapter.read(peftDir(config, Map.of("v_proj", 2, "q_proj", 4),
                List.of("q_proj", "v_proj")));
        LoraConfig c = adapter.config();
        assertThat(c.rankFor("model.layers.0.self_attn.v_proj")).isEqualTo(2);
        assertThat(c.scaleFor("model.layers.0.self_attn.v_proj")).isEqualTo(8.0);
        assertThat(c.scaleFor("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);
        assertThat(c.scaleFor("model.layers.1.self_attn.q_proj")).isEqualTo(8.0);
        assertThatCode(() -> adapter.validateAgainst(BASE, 64)).doesNotThrowAnyException();

        LoraConfig rs = LoraConfig.of(16, 32, true, List.of("q_proj"), 0, null);
        assertThat(rs.scaleFor("model.layers.0.self_attn.q_proj")).isEqualTo(8.0);
    }

    @Test
    void rejectsRankThatDisagreesWithTheConfig() throws IOException {
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG.replace("\"r\":4", "\"r\":8"), 4,
                List.of("q_proj", "v_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(BASE, 64)).isInstanceOf(AdapterFormatException.class)
                .hasMessageContaining("'model.layers.0.self_attn.q_proj' has rank 4 but adapter_config.json says r=8");
    }

    @Test
    void rejectsRankAboveTheLimit() throws IOException {
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(BASE, 2)).hasMessageContaining("above this server's limit of 2");
    }

    @Test
    void rejectsShapesThatDoNotFitTheBase() throws IOException {
        ModelConfig wider = new ModelConfig(ModelFamily.QWEN3, 48, 2, 4, 2, 8, 64, 100, 128, 1e-6, 1e6, null, true,
                false, 0, List.of(1), DType.F32);
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(wider, 64))
                .hasMessageContaining("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape [4, 32]")
                .hasMessageContaining("expected [4, 48]");
    }

    @Test
    void rejectsLayersTheBaseDoesNotHave() throws IOException {
        ModelConfig shallow = new ModelConfig(ModelFamily.QWEN3, 32, 1, 4, 2, 8, 64, 100, 128, 1e-6, 1e6, null, true,
                false, 0, List.of(1), DType.F32);
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(shallow, 64))
                .hasMessageContaining("is in layer 1 but the base has 1 layers");
    }

    @Test
    void rejectsTargetModuleMissingFromTheBase() throws IOException {
        PeftAdapter adapter = PeftAdapter.read(peftDir(
                PEFT_CONFIG.replace("[\"v_proj\",\"q_proj\"]", "[\"v_proj\",\"q_proj\",\"c_attn\"]"), 4,
                List.of("q_proj", "v_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(BASE, 64))
                .hasMessageContaining("target module 'c_attn' does not exist in Qwen3ForCausalLM");
    }

    @Test
    void rejectsTargetedModuleWithoutWeights() throws IOException {
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj")));
        assertThatThrownBy(() -> adapter.validateAgainst(BASE, 64))
                .hasMessageContaining("target module 'model.layers.0.self_attn.v_proj' has no lora_A/lora_B weights");
    }

    @Test
    void refusesDoraModulesToSaveAndBias() throws IOException {
        assertThatThrownBy(() -> PeftAdapter.read(peftDir(PEFT_CONFIG.replace("\"use_dora\":false",
                "\"use_dora\":true"), 4, List.of("q_proj")))).hasMessageContaining("DoRA");
        assertThatThrownBy(() -> PeftAdapter.read(peftDir(PEFT_CONFIG.replace("\"modules_to_save\":null",
                "\"modules_to_save\":[\"lm_head\"]"), 4, List.of("q_proj")))).hasMessageContaining("modules_to_save");
        assertThatThrownBy(() -> PeftAdapter.read(peftDir(PEFT_CONFIG.replace("\"bias\":\"none\"",
                "\"bias\":\"lora_only\""), 4, List.of("q_proj")))).hasMessageContaining("bias 'lora_only'");
    }

    @Test
    void refusesUnknownTensorsAndHalfPairs() throws IOException {
        Path a = dir.resolve("emb");
        Files.createDirectories(a);
        Files.writeString(a.resolve("adapter_config.json"), PEFT_CONFIG);
        SafetensorsWriter.write(a.resolve("adapter_model.safetensors"), List.of(Tensor.ofFloats(
                "base_model.model.model.embed_tokens.lora_embedding_A", DType.F32, new long[] {4, 100},
                new float[400])), Map.of());
        assertThatThrownBy(() -> PeftAdapter.read(a)).hasMessageContaining("lora_embedding_A")
                .hasMessageContaining("not a LoRA factor");

        Path b = dir.resolve("half");
        Files.createDirectories(b);
        Files.writeString(b.resolve("adapter_config.json"), PEFT_CONFIG);
        SafetensorsWriter.write(b.resolve("adapter_model.safetensors"), List.of(Tensor.ofFloats(
                PeftAdapter.key("model.layers.0.self_attn.q_proj", 'A'), DType.F32, new long[] {4, 32},
                new float[128])), Map.of());
        assertThatThrownBy(() -> PeftAdapter.read(b)).hasMessageContaining("has lora_A but no lora_B");
    }

    @Test
    void refusesPickleOnlyAdapters() throws IOException {
        Path a = dir.resolve("bin");
        Files.createDirectories(a);
        Files.writeString(a.resolve("adapter_config.json"), PEFT_CONFIG);
        Files.write(a.resolve("adapter_model.bin"), new byte[] {1});
        assertThatThrownBy(() -> PeftAdapter.read(a)).hasMessageContaining("safe_serialization=True");
    }

    @Test
    void writeRefusesAnExistingDirectoryAndLeavesItUntouched() throws IOException {
        PeftAdapter adapter = PeftAdapter.read(peftDir(PEFT_CONFIG, 4, List.of("q_proj", "v_proj")));
        Path out = dir.resolve("taken");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        assertThatThrownBy(() -> adapter.write(out, DType.F32)).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("keep.txt");
        }
    }

    private Path peftDir(String config, int rank, List<String> modules) throws IOException {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        modules.forEach(m -> ranks.put(m, rank));
        return peftDir(config, ranks, modules);
    }

    /** An adapter directory laid out exactly as PEFT saves one, with deterministic values. */
    private Path peftDir(String config, Map<String, Integer> ranks, List<String> modules) throws IOException {
        Path a = Files.createTempDirectory(dir, "adapter");
        Files.writeString(a.resolve("adapter_config.json"), config);
        List<Tensor> tensors = new ArrayList<>();
        for (int l = 0; l < BASE.numLayers(); l++) {
            for (String m : modules) {
                String path = ModelConfig.modulePath(l, m);
                ModelConfig.LinearShape s = BASE.linear(m);
                int r = ranks.get(m);
                tensors.add(Tensor.ofFloats(PeftAdapter.key(path, 'A'), DType.F32, new long[] {r, s.in()},
                        values(path, 'A', r * s.in())));
                tensors.add(Tensor.ofFloats(PeftAdapter.key(path, 'B'), DType.F32, new long[] {s.out(), r},
                        values(path, 'B', s.out() * r)));
            }
        }
        SafetensorsWriter.write(a.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        return a;
    }

    private static float[] values(String module, char factor, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = value(module, factor, i);
        }
        return v;
    }

    private static float value(String module, char factor, int i) {
        return ((module.hashCode() + factor * 31 + i) % 97) / 97f;
    }
}
