package dev.quiver.finetune.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.finetune.EvalMetrics;
import dev.quiver.finetune.ResolvedHyperparameters;
import dev.quiver.finetune.StepMetrics;
import dev.quiver.finetune.TrainingCancelledException;
import dev.quiver.finetune.data.Batch;
import dev.quiver.finetune.data.BatchCollator;
import dev.quiver.finetune.data.EncodedExample;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.finetune.event.TrainingListener;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.finetune.model.TargetLoss;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The training loop: for each step, forward and backward over its micro-batches with gradients summed,
 * clip, one AdamW update at the scheduled rate; evaluate and checkpoint at their intervals. Progress
 * leaves only through the listener.
 */
public final class LoraTrainer {
    private final CausalLm model;
    private final ResolvedHyperparameters hp;
    private final List<EncodedExample> train;
    private final Evaluator evaluator;
    private final CheckpointStore checkpoints;
    private final CheckpointSchedule checkpointSchedule;
    private final long seed;
    private final TrainingListener listener;
    private final BooleanSupplier cancelled;
    /** The checkpoint {@link #resumePoint} chose, or null to start afresh. */
    private CheckpointStore.Saved resumeFrom;

    /** What a finished loop hands back. */
    public record Outcome(PeftAdapter adapter, TrainerState state, EvalMetrics finalEval, int resumedFromStep,
                          double tokensPerSecond) {
    }

    /**
     * @param validation  micro-batches to evaluate on, or null for none
     * @param checkpoints where to checkpoint (when {@code schedule} says so) and resume from, or null
     */
    public LoraTrainer(CausalLm model, ResolvedHyperparameters hp, List<EncodedExample> train, List<Batch> validation,
                       CheckpointStore checkpoints, CheckpointSchedule schedule, long seed, TrainingListener listener,
                       BooleanSupplier cancelled) {
        this.model = model;
        this.hp = hp;
        this.train = List.copyOf(train);
        this.evaluator = validation == null || validation.isEmpty() ? null : new Evaluator(model, validation);
        this.checkpoints = checkpoints;
        this.checkpointSchedule = schedule;
        this.seed = seed;
        this.listener = listener;
        this.cancelled = cancelled;
    }

    /**
     * Where the run starts: afresh, or (with {@code resume}) after the newest checkpoint, which must belong
     * to the run {@code fingerprint} identifies. Checked before the run is announced.
     */
    public TrainerState resumePoint(boolean resume, String fingerprint) throws IOException {
        resumeFrom = null;
        if (checkpoints == null) {
            return TrainerState.fresh(fingerprint);
        }
        List<Path> existing = checkpoints.checkpoints();
        if (existing.isEmpty()) {
            return TrainerState.fresh(fingerprint);
        }
        if (!resume) {
            throw new IllegalStateException("checkpoint directory " + checkpoints.dir() + " already holds "
                    + existing.get(existing.size() - 1).getFileName() + "; pass resume to continue that run, or"
                    + " use an empty checkpoint directory to start afresh");
        }
        CheckpointStore.Saved saved = checkpoints.latest(keys(model.config())).orElseThrow();
        if (!saved.state().fingerprint().equals(fingerprint)) {
            throw new IllegalStateException("checkpoint " + saved.path() + " belongs to a different run (other"
                    + " hyperparameters, seed, data or base model), so resuming would not reproduce it; restore the"
                    + " original settings, or use an empty checkpoint directory to start afresh");
        }
        resumeFrom = saved;
        return saved.state();
    }

    /** Runs from {@code start}, what {@link #resumePoint} returned, to the last step. */
    public Outcome run(TrainerState start, LoraConfig loraConfig) throws IOException, TrainingCancelledException {
        if (start.completedSteps() > 0 && (resumeFrom == null || resumeFrom.state() != start)) {
            throw new IllegalArgumentException("start from the state resumePoint returned");
        }
        Engine engine = model.engine();
        engine.setRandomSeed((int) (seed ^ (seed >>> 32)));
        StepPlan plan = new StepPlan(train.size(), hp.batchSize(), hp.nEpochs(), seed);
        LearningRateSchedule schedule =
                new LearningRateSchedule(hp.learningRate(), hp.warmupSteps(), plan.totalSteps());
        BatchCollator collator = new BatchCollator(hp.microBatchTokens(), hp.packing(), hp.maxSeqLength());
        try (NDManager runManager = model.newSubManager()) {
            LoraParameters params = resumeFrom == null
                    ? LoraParameters.initialise(model.config(), loraConfig, seed, runManager)
                    : LoraParameters.restore(resumeFrom.adapter(), runManager);
            AdamW optimizer = new AdamW(params.tensors(), runManager, hp.weightDecay());
            GradientBuffer grads = new GradientBuffer(params.tensors(), runManager);
            Path lastCheckpoint = null;
            if (resumeFrom != null) {
                optimizer.restore(resumeFrom.optimizerStep(), resumeFrom.expAvg(), resumeFrom.expAvgSq());
                lastCheckpoint = resumeFrom.path();
            }
            Progress progress = new Progress(start);
            int total = plan.totalSteps();
            long lastCheckpointNanos = System.nanoTime();
            for (int step = start.completedSteps(); step < total; step++) {
                if (cancelled.getAsBoolean()) {
                    throw new TrainingCancelledException(step, lastCheckpoint);
                }
                long began = System.nanoTime();
                StepResult r = step(step, plan, collator, params, grads, engine);
                double gradNorm = grads.clip(hp.maxGradNorm());
                double lr = schedule.at(step);
                optimizer.update(grads.gradients(), lr);
                grads.zero();
                int done = step + 1;
                StepMetrics metrics = new StepMetrics(done, plan.epochOf(step) + 1, r.loss(), r.accuracy(), lr,
                        gradNorm, r.tokens());
                progress.stepDone(metrics, r.targets(), System.nanoTime() - began);
                listener.onEvent(new TrainingEvent.StepCompleted(done, total, metrics.epoch(), r.loss(), r.accuracy(),
                        lr, gradNorm, progress.tokensSeen, progress.tokensPerSecond(),
                        progress.eta(total - done)));
                if (evaluator != null && hp.evalInterval() > 0 && done % hp.evalInterval() == 0 && done < total) {
                    progress.evals.add(evaluate(done, params));
                }
                if (checkpoints != null && done < total
                        && checkpointSchedule.due(done, Duration.ofNanos(System.nanoTime() - lastCheckpointNanos))) {
                    lastCheckpoint = checkpoints.save(progress.state(done, start.fingerprint()), params.toAdapter(),
                            optimizer, params.keys());
                    lastCheckpointNanos = System.nanoTime();
                    listener.onEvent(new TrainingEvent.CheckpointSaved(done, lastCheckpoint));
                }
            }
            EvalMetrics finalEval = evaluator == null ? null : evaluate(total, params);
            if (finalEval != null) {
                progress.evals.add(finalEval);
            }
            return new Outcome(params.toAdapter(), progress.state(total, start.fingerprint()), finalEval,
                    start.completedSteps(), progress.tokensPerSecond());
        }
    }

    private record StepResult(double loss, double accuracy, long tokens, long targets) {
    }

    /** Forward and backward of one step's micro-batches; gradients end up summed in {@code grads}. */
    private StepResult step(int step, StepPlan plan, BatchCollator collator, LoraParameters params,
                            GradientBuffer grads, Engine engine) {
        List<EncodedExample> examples = new ArrayList<>();
        for (int i : plan.examplesOf(step)) {
            examples.add(train.get(i));
        }
        List<Batch> micro = collator.collate(examples);
        int targets = micro.stream().mapToInt(Batch::targetCount).sum();
        double lossSum = 0;
        long correct = 0;
        long tokens = 0;
        for (int i = 0; i < micro.size(); i++) {
            Batch batch = micro.get(i);
            // dropout masks depend on (seed, step, micro-batch) only, so a resumed run draws the same ones
            engine.setRandomSeed(dropoutSeed(step, i));
            try (NDScope scope = new NDScope()) {
                LoraParameters.Trainable lora = params.trainableCopies((float) hp.loraDropout());
                TargetLoss loss;
                try (GradientCollector collector = engine.newGradientCollector()) {
                    loss = model.targetLoss(batch.tokens(), batch.targets(), lora.tensors(), true);
                    // dividing by the whole step's target count makes the summed gradient the token-mean's;
                    // the divisor is an array of this scope, as a Number operand's memory can be gone by backward
                    collector.backward(loss.sum().div(loss.sum().getManager().create((float) targets)));
                }
                lossSum += loss.sum().getFloat();
                correct += loss.correct();
                grads.add(lora.leaves());
            }
            tokens += batch.tokens().realTokens();
        }
        double loss = lossSum / targets;
        if (!Double.isFinite(loss)) {
            throw new IllegalStateException("the loss is " + loss + " at step " + (step + 1) + ": training diverged;"
                    + " lower learning_rate (now " + hp.learningRate() + ")");
        }
        return new StepResult(loss, (double) correct / targets, tokens, targets);
    }

    private int dropoutSeed(int step, int microBatch) {
        long h = seed * 0x9E3779B97F4A7C15L + step * 0xC2B2AE3D27D4EB4FL + microBatch;
        h ^= h >>> 31;
        return (int) (h ^ (h >>> 32));
    }

    private EvalMetrics evaluate(int done, LoraParameters params) {
        EvalMetrics m = evaluator.evaluate(done, params.view());
        listener.onEvent(new TrainingEvent.EvalCompleted(done, m.loss(), m.tokenAccuracy(), m.targetTokens()));
        return m;
    }

    private List<String> keys(ModelConfig config) {
        List<String> keys = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : hp.targetModules()) {
                String path = ModelConfig.modulePath(l, m);
                keys.add(PeftAdapter.key(path, 'A'));
                keys.add(PeftAdapter.key(path, 'B'));
            }
        }
        return keys;
    }

    /** Counters of the run so far, across the processes of a resumed run. */
    private static final class Progress {
        private final List<StepMetrics> curve;
        private final List<EvalMetrics> evals;
        private final long startNanos = System.nanoTime();
        private final double wallBefore;
        private final double trainBefore;
        private long tokensSeen;
        private long targetTokensSeen;
        private long tokensHere;
        private long trainNanosHere;
        private int stepsHere;

        Progress(TrainerState start) {
            this.curve = new ArrayList<>(start.lossCurve());
            this.evals = new ArrayList<>(start.evals());
            this.tokensSeen = start.tokensSeen();
            this.targetTokensSeen = start.targetTokensSeen();
            this.wallBefore = start.wallSeconds();
            this.trainBefore = start.trainSeconds();
        }

        void stepDone(StepMetrics m, long targets, long nanos) {
            curve.add(m);
            tokensSeen += m.tokens();
            targetTokensSeen += targets;
            tokensHere += m.tokens();
            trainNanosHere += nanos;
            stepsHere++;
        }

        double tokensPerSecond() {
            return trainNanosHere == 0 ? 0 : tokensHere / (trainNanosHere / 1e9);
        }

        Duration eta(int remainingSteps) {
            return stepsHere == 0 ? Duration.ZERO : Duration.ofNanos(trainNanosHere / stepsHere * remainingSteps);
        }

        TrainerState state(int completed, String fingerprint) {
            return new TrainerState(completed, fingerprint, tokensSeen, targetTokensSeen,
                    trainBefore + trainNanosHere / 1e9, wallBefore + (System.nanoTime() - startNanos) / 1e9, curve,
                    evals);
        }
    }
}
