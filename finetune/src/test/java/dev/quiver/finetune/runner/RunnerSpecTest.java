package dev.quiver.finetune.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.finetune.Hyperparameters;
import org.junit.jupiter.api.Test;

/** The runner spec as the runner reads it: snake_case JSON, null for auto, into the trainer's hyperparameters. */
class RunnerSpecTest {
    @Test
    void readsTheControlPlanesSpecIntoTheTrainersHyperparameters() throws Exception {
        String wire = """
                {"job_id":"ftjob-1","attempt":2,"base_model_path":"/models/qwen3-tiny",
                 "base_model_name":"qwen3-tiny","training_file":"file-a","validation_file":null,
                 "hyperparameters":{"n_epochs":20,"batch_size":null,"learning_rate":0.005,"lora_rank":8,
                                    "lora_alpha":null,"target_modules":["q_proj","v_proj"]},
                 "seed":7,"resume_step":40,"added_by_a_newer_control_plane":true}""";

        RunnerSpec spec = RunnerSpec.fromJson(wire);
        Hyperparameters h = spec.hyperparameters().toTrainer();

        assertThat(spec.jobId()).isEqualTo("ftjob-1");
        assertThat(spec.attempt()).isEqualTo(2);
        assertThat(spec.baseModelPath()).isEqualTo("/models/qwen3-tiny");
        assertThat(spec.validationFile()).isNull();
        assertThat(spec.resumeStep()).isEqualTo(40);
        assertThat(h.nEpochs()).isEqualTo(20);
        assertThat(h.batchSize()).isNull();
        assertThat(h.learningRate()).isEqualTo(0.005);
        assertThat(h.loraRank()).isEqualTo(8);
        assertThat(h.loraAlpha()).isNull();
        assertThat(h.resolvedTargetModules()).containsExactly("q_proj", "v_proj");
    }

    @Test
    void missingHyperparametersAreAllAutoWithTheTrainersDefaults() throws Exception {
        RunnerSpec spec = RunnerSpec.fromJson("{\"job_id\":\"j\",\"training_file\":\"f\",\"seed\":1}");

        Hyperparameters h = spec.hyperparameters().toTrainer();

        assertThat(h.loraRank()).isEqualTo(Hyperparameters.DEFAULT_LORA_RANK);
        assertThat(h.learningRate()).isNull();
        // an older control plane sends no event numbers: this runner's events start at 1
        assertThat(spec.nextEventSeq()).isEqualTo(1);
    }

    @Test
    void theTrainerRefusesWhatTheLimitsRefuse() {
        RunnerSpec.Hyperparameters tooFast = new RunnerSpec.Hyperparameters(null, null, 1.0, null, null, null);

        assertThatThrownBy(tooFast::toTrainer).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("learning_rate must be greater than 0 and less than 1, got 1.0");
    }
}
