package dev.quiver.finetune;

import dev.quiver.finetune.train.CheckpointSchedule;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything one fine-tuning run needs: what to train on, where to write, how, and how to survive being
 * stopped. The CLI and the job runner build one of these and hand it to {@link FineTune}.
 *
 * @param validationFile     null to evaluate on a held-out split (if {@code validationSplit > 0}) or not at all
 * @param checkpointDir      where checkpoints go; null for {@code <outputDir>.checkpoints} when checkpointing
 * @param checkpointInterval save a checkpoint every this many steps; 0 for none
 * @param checkpointTimeInterval also save one whenever this much time has passed since the last; zero for none
 * @param keepCheckpoints    how many of the newest checkpoints to keep
 * @param resume             continue from the newest checkpoint in {@code checkpointDir} if there is one
 * @param device             {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto} (see {@link TrainingDevice})
 * @param baseModelName      written as {@code base_model_name_or_path}; null for the base model directory's name
 */
public record FineTuneSpec(
        Path baseModel,
        Path trainFile,
        Path validationFile,
        Path outputDir,
        Hyperparameters hyperparameters,
        long seed,
        Path checkpointDir,
        int checkpointInterval,
        Duration checkpointTimeInterval,
        int keepCheckpoints,
        boolean resume,
        String device,
        String baseModelName) {

    public static final long DEFAULT_SEED = 42;

    public FineTuneSpec {
        Objects.requireNonNull(baseModel, "baseModel");
        Objects.requireNonNull(trainFile, "trainFile");
        Objects.requireNonNull(outputDir, "outputDir");
        Objects.requireNonNull(hyperparameters, "hyperparameters");
        Objects.requireNonNull(device, "device");
        checkpointTimeInterval = checkpointTimeInterval == null ? Duration.ZERO : checkpointTimeInterval;
        if (checkpointInterval < 0 || checkpointTimeInterval.isNegative()) {
            throw new IllegalArgumentException("checkpoint intervals must not be negative, got " + checkpointInterval
                    + " steps and " + checkpointTimeInterval);
        }
        if (keepCheckpoints < 1) {
            throw new IllegalArgumentException("keep at least one checkpoint, got " + keepCheckpoints);
        }
    }

    /** When this run checkpoints: by steps, by time, or both. */
    public CheckpointSchedule checkpointSchedule() {
        return new CheckpointSchedule(checkpointInterval, checkpointTimeInterval);
    }

    /** The checkpoint directory in use, or null when this run does not checkpoint. */
    public Path effectiveCheckpointDir() {
        if (checkpointDir != null) {
            return checkpointDir;
        }
        if (!checkpointSchedule().enabled()) {
            return null;
        }
        return outputDir.resolveSibling(outputDir.getFileName() + ".checkpoints");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a spec: {@code setX} for the required settings, {@code optX} for the rest. */
    public static final class Builder {
        private Path baseModel;
        private Path trainFile;
        private Path validationFile;
        private Path outputDir;
        private Hyperparameters hyperparameters = Hyperparameters.auto();
        private long seed = DEFAULT_SEED;
        private Path checkpointDir;
        private int checkpointInterval;
        private Duration checkpointTimeInterval = Duration.ZERO;
        private int keepCheckpoints = 2;
        private boolean resume;
        private String device = "cpu";
        private String baseModelName;

        private Builder() {
        }

        /** The Hugging Face model directory to adapt. */
        public Builder setBaseModel(Path dir) {
            this.baseModel = dir;
            return this;
        }

        /** The training JSONL file. */
        public Builder setTrainFile(Path file) {
            this.trainFile = file;
            return this;
        }

        /** The adapter directory to create; it must not exist yet. */
        public Builder setOutputDir(Path dir) {
            this.outputDir = dir;
            return this;
        }

        public Builder optValidationFile(Path file) {
            this.validationFile = file;
            return this;
        }

        public Builder optHyperparameters(Hyperparameters hyperparameters) {
            this.hyperparameters = hyperparameters;
            return this;
        }

        /** Seeds LoRA init, shuffling, dropout and the held-out split; default 42. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder optCheckpointDir(Path dir) {
            this.checkpointDir = dir;
            return this;
        }

        /** Checkpoint every this many steps; default 0 (never). */
        public Builder optCheckpointInterval(int steps) {
            this.checkpointInterval = steps;
            return this;
        }

        /** Also checkpoint whenever this much time has passed since the last one; default zero (never). */
        public Builder optCheckpointTimeInterval(Duration interval) {
            this.checkpointTimeInterval = interval;
            return this;
        }

        /** Newest checkpoints to keep, default 2. */
        public Builder optKeepCheckpoints(int count) {
            this.keepCheckpoints = count;
            return this;
        }

        /** Continue from the newest checkpoint, if any; default off. */
        public Builder optResume(boolean resume) {
            this.resume = resume;
            return this;
        }

        /** {@code cpu} (default), {@code cuda}, {@code cuda:N} or {@code auto}. */
        public Builder optDevice(String device) {
            this.device = device;
            return this;
        }

        public Builder optBaseModelName(String name) {
            this.baseModelName = name;
            return this;
        }

        public FineTuneSpec build() {
            if (baseModel == null || trainFile == null || outputDir == null) {
                throw new IllegalStateException("a fine-tune needs setBaseModel, setTrainFile and setOutputDir");
            }
            return new FineTuneSpec(baseModel, trainFile, validationFile, outputDir, hyperparameters, seed,
                    checkpointDir, checkpointInterval, checkpointTimeInterval, keepCheckpoints, resume, device,
                    baseModelName);
        }
    }
}
