package dev.quiver.finetune;

import ai.djl.Device;
import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.finetune.data.BatchCollator;
import dev.quiver.finetune.data.DatasetException;
import dev.quiver.finetune.data.DatasetReader;
import dev.quiver.finetune.data.EncodedDataset;
import dev.quiver.finetune.data.EncodedExample;
import dev.quiver.finetune.data.ExampleEncoder;
import dev.quiver.finetune.data.RawExample;
import dev.quiver.finetune.event.DatasetSummary;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.finetune.event.TrainingListener;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.finetune.train.CheckpointStore;
import dev.quiver.finetune.train.LoraTrainer;
import dev.quiver.finetune.train.TrainerState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One LoRA fine-tuning run: reads and checks the data, picks the auto hyperparameters, trains on DJL's
 * PyTorch engine, and writes a PEFT adapter directory with its {@code training_metrics.json}. Progress
 * goes to the listener; {@link #cancel()} (from any thread) stops the run at the next step. Only one run
 * may train per JVM at a time (PyTorch's gradient mode is process-wide).
 */
public final class FineTune {
    /** Written into the adapter directory next to the PEFT files. */
    public static final String METRICS_FILE = "training_metrics.json";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);
    private static final int LINES_SHOWN = 10;

    private final FineTuneSpec spec;
    private final TrainingListener listener;
    private volatile boolean cancelled;

    public FineTune(FineTuneSpec spec, TrainingListener listener) {
        this.spec = spec;
        this.listener = listener;
    }

    /** Asks the run to stop before its next step; {@link #run()} then throws {@link TrainingCancelledException}. */
    public void cancel() {
        cancelled = true;
    }

    /**
     * Trains and writes the adapter to {@code spec.outputDir()}.
     *
     * @throws DatasetException            if a data file is malformed (every bad line is listed)
     * @throws TrainingCancelledException  if {@link #cancel()} stopped it
     */
    public FineTuneResult run() throws IOException, TrainingCancelledException {
        requireOutputAbsent();
        Engine engine = Engine.getEngine(CausalLm.ENGINE);
        Device device = TrainingDevice.resolve(spec.device(), engine);
        Prepared data;
        CausalLm model;
        try (ModelDirectory dir = ModelDirectory.open(spec.baseModel())) {
            data = prepare(dir.config());
            model = CausalLm.load(dir, device);
        }
        try (model) {
            return train(data, model);
        }
    }

    /** Trains on an already loaded base model, which must be the one {@code spec.baseModel()} names. */
    FineTuneResult run(CausalLm model) throws IOException, TrainingCancelledException {
        requireOutputAbsent();
        return train(prepare(model.config()), model);
    }

    private record Prepared(EncodedDataset train, EncodedDataset validation, String validationSource,
                            ResolvedHyperparameters hp, String fingerprint) {
    }

    private Prepared prepare(ModelConfig config) throws IOException {
        DatasetReader reader = new DatasetReader();
        List<RawExample> trainRaw = reader.read(spec.trainFile());
        List<RawExample> validationRaw = spec.validationFile() == null ? List.of() : reader.read(spec.validationFile());
        Hyperparameters h = spec.hyperparameters();
        // max_seq_length may be auto, which needs the model only, not the data
        int maxLength = AutoHyperparameters.resolve(h, 1, config).maxSeqLength();
        EncodedDataset train;
        EncodedDataset validation = null;
        try (Tokenizer tokenizer = Tokenizer.load(spec.baseModel())) {
            boolean chat = trainRaw.get(0) instanceof RawExample.Chat
                    || (!validationRaw.isEmpty() && validationRaw.get(0) instanceof RawExample.Chat);
            ChatTemplate template = chat ? ChatTemplate.load(spec.baseModel()) : null;
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, template,
                    ExampleEncoder.endOfTurn(spec.baseModel(), tokenizer), maxLength);
            train = encoder.encodeAll(spec.trainFile(), trainRaw);
            if (!validationRaw.isEmpty()) {
                validation = encoder.encodeAll(spec.validationFile(), validationRaw);
            }
        }
        String validationSource = spec.validationFile() == null ? null : spec.validationFile().toString();
        if (validation == null && h.validationSplit() > 0) {
            EncodedDataset[] split = holdOut(train, h.validationSplit());
            train = split[0];
            validation = split[1];
            validationSource = "held out " + validation.size() + " examples of " + spec.trainFile();
        }
        ResolvedHyperparameters hp = AutoHyperparameters.resolve(h, train.size(), config);
        return new Prepared(train, validation, validationSource, hp, fingerprint(hp, config));
    }

    private FineTuneResult train(Prepared p, CausalLm model) throws IOException, TrainingCancelledException {
        ResolvedHyperparameters hp = p.hp();
        Path checkpointDir = spec.effectiveCheckpointDir();
        CheckpointStore store = checkpointDir == null ? null : new CheckpointStore(checkpointDir,
                spec.keepCheckpoints());
        BatchCollator collator = new BatchCollator(hp.microBatchTokens(), hp.packing(), hp.maxSeqLength());
        LoraTrainer trainer = new LoraTrainer(model, hp, p.train().examples(),
                p.validation() == null ? null : collator.collate(p.validation().examples()), store,
                spec.checkpointSchedule(), spec.seed(), listener, () -> cancelled);
        TrainerState start = trainer.resumePoint(spec.resume(), p.fingerprint());
        DatasetSummary trainSummary = summary(spec.trainFile().toString(), p.train());
        DatasetSummary validationSummary = p.validation() == null ? null
                : summary(p.validationSource(), p.validation());
        listener.onEvent(new TrainingEvent.Started(hp, trainSummary, validationSummary, start.completedSteps(),
                model.device().toString()));
        warn(trainSummary, hp.maxSeqLength());
        if (validationSummary != null) {
            warn(validationSummary, hp.maxSeqLength());
        }
        LoraConfig loraConfig = LoraConfig.of(hp.loraRank(), hp.loraAlpha(), hp.useRslora(), hp.targetModules(),
                hp.loraDropout(), baseModelName());
        LoraTrainer.Outcome outcome = trainer.run(start, loraConfig);
        TrainerState s = outcome.state();
        double wall = s.wallSeconds();
        List<StepMetrics> curve = s.lossCurve();
        TrainingMetrics metrics = new TrainingMetrics(baseModelName(), model.device().toString(), spec.seed(), hp,
                trainSummary, validationSummary, s.completedSteps(), curve, s.evals(), outcome.finalEval(),
                curve.isEmpty() ? Double.NaN : curve.get(curve.size() - 1).loss(), s.tokensSeen(),
                s.targetTokensSeen(), outcome.tokensPerSecond(), s.trainSeconds(), wall, outcome.resumedFromStep());
        writeOutput(outcome, metrics);
        listener.onEvent(new TrainingEvent.Completed(spec.outputDir(), s.completedSteps(), metrics.finalTrainLoss(),
                Duration.ofMillis((long) (wall * 1000))));
        return new FineTuneResult(spec.outputDir(), metrics);
    }

    /** Writes adapter and metrics to a hidden sibling, then renames it: the output appears complete or not at all. */
    private void writeOutput(LoraTrainer.Outcome outcome, TrainingMetrics metrics) throws IOException {
        Path out = spec.outputDir().toAbsolutePath();
        Files.createDirectories(out.getParent());
        Path staging = out.resolveSibling("." + out.getFileName() + ".staging-" + System.nanoTime());
        try {
            outcome.adapter().write(staging, DType.F32);
            Files.writeString(staging.resolve(METRICS_FILE), JSON.writeValueAsString(metrics) + "\n");
            Files.move(staging, out, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(staging);
            throw e;
        }
    }

    private void requireOutputAbsent() throws FileAlreadyExistsException {
        if (Files.exists(spec.outputDir())) {
            throw new FileAlreadyExistsException(spec.outputDir() + " already exists; the adapter is written to a new"
                    + " directory, so choose another output path or delete this one");
        }
    }

    private void warn(DatasetSummary d, int maxLength) {
        if (!d.truncatedLines().isEmpty()) {
            listener.onEvent(new TrainingEvent.Warning(d.truncatedLines().size() + " example(s) of " + d.source()
                    + " were longer than max_seq_length " + maxLength + " tokens and were truncated (lines "
                    + lines(d.truncatedLines()) + ")"));
        }
        if (!d.droppedLines().isEmpty()) {
            listener.onEvent(new TrainingEvent.Warning(d.droppedLines().size() + " example(s) of " + d.source()
                    + " had no assistant or completion token left within max_seq_length " + maxLength
                    + " and were skipped (lines " + lines(d.droppedLines()) + ")"));
        }
    }

    private static String lines(List<Integer> lines) {
        String shown = lines.stream().limit(LINES_SHOWN).map(String::valueOf).collect(Collectors.joining(", "));
        return lines.size() > LINES_SHOWN ? shown + ", ..." : shown;
    }

    private static DatasetSummary summary(String source, EncodedDataset d) {
        return new DatasetSummary(source, d.size(), d.tokens(), d.targetTokens(), d.truncatedLines(),
                d.droppedLines());
    }

    /** Splits off a seeded random {@code fraction} of the examples (at least one) for evaluation. */
    private EncodedDataset[] holdOut(EncodedDataset all, double fraction) throws DatasetException {
        int n = all.size();
        int held = (int) Math.max(1, Math.round(n * fraction));
        if (held >= n) {
            throw new DatasetException(spec.trainFile(), 0, "validation_split " + fraction + " of " + n
                    + " examples leaves nothing to train on; lower it or give a validation file");
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(spec.seed() ^ 0x5DEECE66DL);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        boolean[] isHeld = new boolean[n];
        for (int i = 0; i < held; i++) {
            isHeld[order[i]] = true;
        }
        List<EncodedExample> trainPart = new ArrayList<>();
        List<EncodedExample> heldPart = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (isHeld[i] ? heldPart : trainPart).add(all.examples().get(i));
        }
        return new EncodedDataset[] {
            new EncodedDataset(trainPart, all.truncatedLines(), all.droppedLines()),
            new EncodedDataset(heldPart, List.of(), List.of())};
    }

    private String baseModelName() {
        return spec.baseModelName() != null ? spec.baseModelName()
                : spec.baseModel().toAbsolutePath().normalize().getFileName().toString();
    }

    /** Identifies the run for resuming: the settings that decide the result, the data bytes and the base config. */
    private String fingerprint(ResolvedHyperparameters hp, ModelConfig config) throws IOException {
        MessageDigest sha = sha256();
        sha.update((hp.identity() + " seed=" + spec.seed() + " split=" + spec.hyperparameters().validationSplit()
                + " model=" + config.toJson()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        digestFile(sha, spec.trainFile());
        if (spec.validationFile() != null) {
            digestFile(sha, spec.validationFile());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void digestFile(MessageDigest sha, Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }

    private static void deleteQuietly(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // best effort: the staging directory is hidden and named uniquely, a leftover harms nothing
        }
    }
}
