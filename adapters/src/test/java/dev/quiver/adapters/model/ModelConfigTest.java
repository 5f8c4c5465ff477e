package dev.quiver.adapters.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** config.json of Qwen/Qwen3-0.6B as published. */
    static final String QWEN3_0_6B = """
            {"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
             "bos_token_id":151643,"eos_token_id":151645,"head_dim":128,"hidden_act":"silu","hidden_size":1024,
             "initializer_range":0.02,"intermediate_size":3072,"max_position_embeddings":40960,"max_window_layers":28,
             "model_type":"qwen3","num_attention_heads":16,"num_hidden_layers":28,"num_key_value_heads":8,
             "rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000,"sliding_window":null,
             "tie_word_embeddings":true,"torch_dtype":"bfloat16","transformers_version":"4.51.0","use_cache":true,
             "use_sliding_window":false,"vocab_size":151936}""";
    /** config.json of meta-llama/Llama-3.2-1B-Instruct as published. */
    static final String LLAMA_3_2_1B = """
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":128000,
             "eos_token_id":[128001,128008,128009],"head_dim":64,"hidden_act":"silu","hidden_size":2048,
             "initializer_range":0.02,"intermediate_size":8192,"max_position_embeddings":131072,"mlp_bias":false,
             "model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,"num_key_value_heads":8,
             "pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,
             "low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
             "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.45.0.dev0","use_cache":true,"vocab_size":128256}""";
    /** config.json of Qwen/Qwen2.5-0.5B-Instruct as published. */
    static final String QWEN2_5_0_5B = """
            {"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151645,
             "hidden_act":"silu","hidden_size":896,"initializer_range":0.02,"intermediate_size":4864,
             "max_position_embeddings":32768,"max_window_layers":21,"model_type":"qwen2","num_attention_heads":14,
             "num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,
             "sliding_window":32768,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.43.1","use_cache":true,"use_sliding_window":false,"vocab_size":151936}""";

    @TempDir
    Path dir;

    @Test
    void parsesQwen3WithQkNormAndTiedEmbeddings() throws IOException {
        ModelConfig c = parse(QWEN3_0_6B);
        assertThat(c.family()).isEqualTo(ModelFamily.QWEN3);
        assertThat(c.hiddenSize()).isEqualTo(1024);
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.numKvHeads()).isEqualTo(8);
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.qkvBias()).isFalse();
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.eosTokenIds()).containsExactly(151645);
        assertThat(c.torchDtype()).isEqualTo(DType.BF16);
        assertThat(c.linear("q_proj")).isEqualTo(new ModelConfig.LinearShape(1024, 2048));
        assertThat(c.linear("o_proj")).isEqualTo(new ModelConfig.LinearShape(2048, 1024));
        assertThat(c.expectedWeights()).containsKey("model.layers.27.self_attn.k_norm.weight")
                .doesNotContainKey("lm_head.weight");
        // Qwen3-0.6B has 596M parameters with the embedding counted once
        assertThat(c.parameterCount()).isEqualTo(596_049_920L);
    }

    @Test
    void parsesLlamaWithLlama3RopeScaling() throws IOException {
        ModelConfig c = parse(LLAMA_3_2_1B);
        assertThat(c.family()).isEqualTo(ModelFamily.LLAMA);
        assertThat(c.ropeScaling()).isEqualTo(RopeScaling.llama3(32, 1, 4, 8192));
        assertThat(c.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(c.bosTokenId()).isEqualTo(128000);
        double[] inv = c.ropeInverseFrequencies();
        assertThat(inv).hasSize(32);
        // high frequencies (short wavelengths) are untouched, the lowest are divided by the factor
        assertThat(inv[0]).isEqualTo(1.0);
        double unscaledLast = 1.0 / Math.pow(500000, 62.0 / 64);
        assertThat(inv[31]).isCloseTo(unscaledLast / 32, org.assertj.core.data.Offset.offset(1e-15));
    }

    @Test
    void parsesQwen2WithAttentionBiasAndDerivedHeadDim() throws IOException {
        ModelConfig c = parse(QWEN2_5_0_5B);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.qkvBias()).isTrue();
        assertThat(c.expectedWeights()).containsKey("model.layers.0.self_attn.q_proj.bias")
                .doesNotContainKey("model.layers.0.self_attn.o_proj.bias")
                .doesNotContainKey("model.layers.0.self_attn.q_norm.weight");
        assertThat(c.expectedWeights().get("model.layers.0.self_attn.k_proj.bias")).containsExactly(128);
    }

    @Test
    void roundTripsThroughConfigJson() throws IOException {
        ModelConfig c = parse(LLAMA_3_2_1B);
        c.write(dir);
        assertThat(ModelConfig.load(dir)).isEqualTo(c);
    }

    @Test
    void missingFieldIsNamed() throws IOException {
        ObjectNode node = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        node.remove("intermediate_size");
        Files.writeString(dir.resolve("config.json"), node.toString());
        assertThatThrownBy(() -> ModelConfig.load(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("config.json").hasMessageContaining("'intermediate_size'")
                .hasMessageContaining("Qwen3ForCausalLM");
    }

    @Test
    void unsupportedArchitectureIsRefusedWithTheSupportedList() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"GPT2LMHeadModel\"]}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("'GPT2LMHeadModel' is not supported")
                .hasMessageContaining("Qwen3ForCausalLM");
    }

    @Test
    void unsupportedRopeScalingIsRefused() throws IOException {
        ObjectNode node = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        node.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        assertThatThrownBy(() -> ModelConfig.parse(dir.resolve("config.json"), node))
                .hasMessageContaining("rope_scaling type 'yarn' is not supported");
    }

    @Test
    void wrongTypeIsReported() throws IOException {
        ObjectNode node = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        node.put("hidden_size", "big");
        assertThatThrownBy(() -> ModelConfig.parse(dir.resolve("config.json"), node))
                .hasMessageContaining("'hidden_size' must be an integer");
    }

    @Test
    void missingConfigFileNamesThePath() {
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining(dir.resolve("config.json").toString());
    }

    private ModelConfig parse(String json) throws IOException {
        return ModelConfig.parse(dir.resolve("config.json"), JSON.readTree(json));
    }
}
