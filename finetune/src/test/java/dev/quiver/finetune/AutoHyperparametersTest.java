package dev.quiver.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

class AutoHyperparametersTest {
    private static final ModelConfig MODEL = width(64);

    @Test
    void smallSetsAreRepeatedToAboutFiveThousandExamplePassesInBatchesOfEight() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 400, MODEL);
        assertThat(r.nEpochs()).isEqualTo(13);
        assertThat(r.batchSize()).isEqualTo(8);
        assertThat(r.totalSteps()).isEqualTo(13 * 50);
        assertThat(r.warmupSteps()).isEqualTo(33);
        assertThat(r.maxSeqLength()).isEqualTo(2048);
        assertThat(r.autoChosen()).containsKeys("n_epochs", "batch_size", "learning_rate", "lora_alpha",
                "max_seq_length", "eval_interval");
        assertThat(r.autoChosen().get("n_epochs")).contains("400 examples").contains("5000 example passes");
    }

    @Test
    void tinySetsStopAtTwentyFiveEpochsWithTheWholeSetAsOneBatch() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 5, MODEL);
        assertThat(r.nEpochs()).isEqualTo(25);
        assertThat(r.batchSize()).isEqualTo(5);
        assertThat(r.totalSteps()).isEqualTo(25);
        assertThat(r.autoChosen().get("n_epochs")).contains("at most 25 epochs");
        assertThat(r.autoChosen().get("batch_size")).startsWith("5:").contains("at most the number of examples");
        // the rate follows the batch actually used: 1.6e-3 * sqrt(5 / 8)
        assertThat(r.learningRate()).isCloseTo(1.6e-3 * Math.sqrt(5 / 8.0), within(1e-12));
    }

    @Test
    void midSizedSetsGetThreeEpochs() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 4000, MODEL);
        assertThat(r.nEpochs()).isEqualTo(3);
        assertThat(r.batchSize()).isEqualTo(8);
    }

    @Test
    void largeSetsStopNearTwentyFiveThousandPassesWithLargerBatchesAndRates() {
        ResolvedHyperparameters r = AutoHyperparameters.resolve(Hyperparameters.auto(), 20_000, width(4096));
        assertThat(r.nEpochs()).isEqualTo(1);
        assertThat(r.batchSize()).isEqualTo(40);
        // sqrt(40 / 8) is capped at 2
        assertThat(r.learningRate()).isCloseTo(4e-4, within(1e-12));
        assertThat(AutoHyperparameters.resolve(Hyperparameters.auto(), 1_000_000, MODEL).batchSize()).isEqualTo(256);
    }

    @Test
    void learningRateIsLorasUsualRateAtWidth4096ScaledByTheSquareRootOfWidth() {
        assertThat(rateAtBatchEight(4096)).isCloseTo(2e-4, within(1e-12));
        assertThat(rateAtBatchEight(1024)).isCloseTo(4e-4, within(1e-12));
        assertThat(rateAtBatchEight(16384)).isCloseTo(1e-4, within(1e-12));
        assertThat(rateAtBatchEight(64)).isCloseTo(1.6e-3, within(1e-12));
        assertThat(AutoHyperparameters.resolve(Hyperparameters.auto(), 4000, MODEL).autoChosen().get("learning_rate"))
                .startsWith("1.60e-03:").contains("sqrt(4096 / hidden_size 64) = 8.00");
    }

    @Test
    void loraAlphaIsTwiceTheRankUnlessSet() {
        ResolvedHyperparameters auto = AutoHyperparameters.resolve(Hyperparameters.auto(), 100, MODEL);
        assertThat(auto.loraRank()).isEqualTo(16);
        assertThat(auto.loraAlpha()).isEqualTo(32.0);
        assertThat(AutoHyperparameters.resolve(Hyperparameters.builder().optLoraRank(4).build(), 100, MODEL)
                .loraAlpha()).isEqualTo(8.0);
        ResolvedHyperparameters set = AutoHyperparameters.resolve(Hyperparameters.builder().optLoraRank(4)
                .optLoraAlpha(5).build(), 100, MODEL);
        assertThat(set.loraAlpha()).isEqualTo(5.0);
        assertThat(set.autoChosen()).doesNotContainKey("lora_alpha");
    }

    @Test
    void explicitValuesWinAndAreNotReportedAsAuto() {
        Hyperparameters h = Hyperparameters.builder().optEpochs(2).optBatchSize(4).optLearningRate(3e-4)
                .optLoraAlpha(16).optMaxSeqLength(512).optEvalInterval(0).build();
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
                .hasMessageContaining("n_epochs must be at least 1 and at most 100, got 0")
                .hasMessageContaining("lora_rank must be at least 1 and at most 256, got 0")
                .hasMessageContaining("target module 'embed_tokens'")
                .hasMessageContaining("learning_rate must be greater than 0 and less than 1, got 2.0");
        assertThatThrownBy(() -> AutoHyperparameters.resolve(Hyperparameters.builder().optMaxSeqLength(50_000).build(),
                10, MODEL)).hasMessageContaining("exceeds the model's max_position_embeddings 40960");
    }

    private static ModelConfig width(int hidden) {
        return new ModelConfig(ModelFamily.QWEN3, hidden, 2, 4, 2, 16, 3 * hidden, 1024, 40960, 1e-6, 1e6, null, true,
                false, null, List.of(1), DType.BF16);
    }

    private static double rateAtBatchEight(int hidden) {
        return AutoHyperparameters.resolve(Hyperparameters.auto(), 4000, width(hidden)).learningRate();
    }
}
