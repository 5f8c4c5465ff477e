package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

class AutoHyperparametersTest {
    private static final ModelConfig MODEL = new ModelConfig(ModelFamily.QWEN3, 64, 2, 4, 2, 16, 192, 1024, 40960,
            1e-6, 1e6, null, true, false, null, List.of(1), DType.BF16);

    @Test
    void smallSetsGetMoreEpochsAndBatchOfOne() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 20, MODEL);
        assertThat(r.nEpochs()).isEqualTo(5);
        assertThat(r.batchSize()).isEqualTo(1);
        assertThat(r.learningRate()).isEqualTo(1e-4);
        assertThat(r.totalSteps()).isEqualTo(100);
        assertThat(r.warmupSteps()).isEqualTo(5);
        assertThat(r.maxSeqLength()).isEqualTo(2048);
        assertThat(r.autoChosen()).containsKeys("n_epochs", "batch_size", "learning_rate", "max_seq_length",
                "eval_interval");
        assertThat(r.autoChosen().get("n_epochs")).contains("20 examples");
    }

    @Test
    void midSizedSetsGetThreeEpochs() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 4000, MODEL);
        assertThat(r.nEpochs()).isEqualTo(3);
        assertThat(r.batchSize()).isEqualTo(8);
        assertThat(r.learningRate()).isEqualTo(2e-4);
    }

    @Test
    void largeSetsStopNearTwentyFiveThousandPassesWithLargerBatches() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 20_000, MODEL);
        assertThat(r.nEpochs()).isEqualTo(1);
        assertThat(r.batchSize()).isEqualTo(40);
        assertThat(r.learningRate()).isEqualTo(4e-4);
        assertThat(AutoHyperparameters.resolve(Hyperparameters.auto(), 1_000_000, MODEL).batchSize()).isEqualTo(256);
    }

    @Test
    void explicitValuesWinAndAreNotReportedAsAuto() {
        Hyperparameters h = Hyperparameters.builder().optEpochs(2).optBatchSize(4).optLearningRate(3e-4)
                .optMaxSeqLength(512).optEvalInterval(0).build();
        ResolvedHyperparameters r = AutoHyperparameters.resolve(h, 10, MODEL);
        assertThat(r.nEpochs()).isEqualTo(2);
        assertThat(r.batchSize()).isEqualTo(4);
        assertThat(r.learningRate()).isEqualTo(3e-4);
        assertThat(r.totalSteps()).isEqualTo(6);
        assertThat(r.autoChosen()).isEmpty();
    }

    @Test
    void invalidSettingsAreAllReportedAtOnce() {
        assertThatThrownBy(() -> Hyperparameters.builder().optEpochs(0).optLoraRank(0)
                .optTargetModules(List.of("q_proj", "embed_tokens")).optLearningRate(2.0).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("n_epochs must be positive")
                .hasMessageContaining("lora_rank must be in 1..256")
                .hasMessageContaining("target module 'embed_tokens'")
                .hasMessageContaining("learning_rate must be in (0, 1)");
        assertThatThrownBy(() -> AutoHyperparameters.resolve(Hyperparameters.builder().optMaxSeqLength(50_000).build(),
                10, MODEL)).hasMessageContaining("exceeds the model's max_position_embeddings 40960");
    }
}
