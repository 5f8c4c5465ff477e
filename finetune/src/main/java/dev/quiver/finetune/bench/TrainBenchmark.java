package dev.quiver.finetune.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.finetune.Hyperparameters;
import dev.quiver.finetune.ResolvedHyperparameters;
import dev.quiver.finetune.TrainingCancelledException;
import dev.quiver.finetune.TrainingDevice;
import dev.quiver.finetune.data.EncodedExample;
import dev.quiver.finetune.event.TrainingEvent;
import dev.quiver.finetune.model.CausalLm;
import dev.quiver.finetune.train.CheckpointSchedule;
import dev.quiver.finetune.train.LoraTrainer;
import dev.quiver.finetune.train.TrainerState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code quiver bench train}: LoRA training throughput of the real trainer (collation, forward, backward,
 * clipping, AdamW) on a generated Qwen3 model with synthetic rows of {@code seqLen} tokens, every token
 * after the first a target. Reports tokens per second over the steps after the first (which warms the
 * engine up), the FLOPs those steps execute ({@link TrainingFlops#FORMULA}), and, measured in the same
 * process through the same engine, the fp32 matmul peak they are a fraction of. The result is one JSON line.
 */
public final class TrainBenchmark {
    private static final long SEED = 7;
    /** Token ids are drawn below this, the generated tokenizers' size, so rows look like real text ids. */
    private static final int MAX_TOKEN_ID = 4096;

    private TrainBenchmark() {
    }

    /**
     * What to run.
     *
     * @param size    the generated model's size
     * @param rank    LoRA rank on every linear module (alpha = 2 x rank)
     * @param seqLen  tokens per row
     * @param steps   optimizer steps; the first is a warm-up and is reported apart
     * @param rows    rows per step, all in one micro-batch
     * @param workDir where the generated model is kept between runs
     * @param device  {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto}, as {@code quiver finetune --device}
     */
    public record Options(DemoSize size, int rank, int seqLen, int steps, int rows, Path workDir, String device) {
        public Options {
            if (size == null || workDir == null || device == null) {
                throw new IllegalArgumentException("size, workDir and device are required");
            }
            if (rank < 1 || rank > 256 || seqLen < 2 || steps < 1 || rows < 1) {
                throw new IllegalArgumentException("rank must be in 1..256, seq-len at least 2, steps and rows"
                        + " positive; got rank " + rank + ", seq-len " + seqLen + ", steps " + steps + ", rows "
                        + rows);
            }
        }

        /**
         * Parses {@code --size S --rank R --seq-len L --steps N --rows B --work-dir DIR --device D}; defaults small,
         * 16, 512, 4, 1, cpu.
         */
        public static Options parse(String... args) {
            DemoSize size = DemoSize.SMALL;
            int rank = 16;
            int seqLen = 512;
            int steps = 4;
            int rows = 1;
            Path workDir = Path.of("quiver-bench");
            String device = "cpu";
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String value = args[++i];
                switch (flag) {
                    case "--size" -> size = DemoSize.parse(value);
                    case "--rank" -> rank = Integer.parseInt(value);
                    case "--seq-len" -> seqLen = Integer.parseInt(value);
                    case "--steps" -> steps = Integer.parseInt(value);
                    case "--rows" -> rows = Integer.parseInt(value);
                    case "--work-dir" -> workDir = Path.of(value);
                    case "--device" -> device = value;
                    default -> throw new IllegalArgumentException("unknown option " + flag + "; expected --size,"
                            + " --rank, --seq-len, --steps, --rows, --work-dir, --device");
                }
            }
            return new Options(size, rank, seqLen, steps, rows, workDir, device);
        }
    }

    /** Runs the benchmark, generating the model into the work dir if it is not there yet; one JSON line. */
    public static String run(Options o) throws IOException {
        Path modelDir = model(o);
        ModelConfig config = ModelConfig.load(modelDir);
        if (o.seqLen() > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("seq-len " + o.seqLen() + " exceeds the " + o.size().label()
                    + " model's " + config.maxPositionEmbeddings() + " positions");
        }
        System.gc();
        boolean peakReset = ProcessMemory.resetPeak();
        ResolvedHyperparameters hp = hyperparameters(o);
        List<EncodedExample> data = syntheticRows(o, config);
        List<Long> stepEnds = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        double matmulGflops;
        long began;
        long rssLoaded;
        Device device = TrainingDevice.resolve(o.device(), Engine.getEngine(CausalLm.ENGINE));
        try (ModelDirectory dir = ModelDirectory.open(modelDir); CausalLm model = CausalLm.load(dir, device)) {
            rssLoaded = ProcessMemory.residentBytes();
            try (NDManager m = model.newSubManager()) {
                matmulGflops = MatmulPeak.gflops(m);
            }
            LoraTrainer trainer = new LoraTrainer(model, hp, data, null, null, CheckpointSchedule.NONE, SEED, e -> {
                if (e instanceof TrainingEvent.StepCompleted s) {
                    stepEnds.add(System.nanoTime());
                    losses.add(s.loss());
                }
            }, () -> false);
            TrainerState start = trainer.resumePoint(false, "bench");
            LoraConfig lora = LoraConfig.of(hp.loraRank(), hp.loraAlpha(), false, hp.targetModules(), hp.loraDropout(),
                    modelDir.getFileName().toString());
            began = System.nanoTime();
            trainer.run(start, lora);
        } catch (TrainingCancelledException e) {
            throw new IllegalStateException("the benchmark is never cancelled", e);
        }
        long peakRss = ProcessMemory.peakResidentBytes();

        TrainingFlops counts = TrainingFlops.of(config, o.rank(), hp.targetModules());
        long tokensPerStep = (long) o.rows() * o.seqLen();
        long targetsPerStep = (long) o.rows() * (o.seqLen() - 1);
        double flopsPerStep = counts.perStep(o.rows(), o.seqLen(), targetsPerStep);
        double firstStep = (stepEnds.get(0) - began) / 1e9;
        int measured = o.steps() > 1 ? o.steps() - 1 : 1;
        double measuredSeconds = o.steps() > 1 ? (stepEnds.get(stepEnds.size() - 1) - stepEnds.get(0)) / 1e9
                : firstStep;
        double tokensPerSecond = tokensPerStep * measured / measuredSeconds;
        double gflops = flopsPerStep * measured / measuredSeconds / 1e9;

        ObjectNode j = new ObjectMapper().createObjectNode();
        j.put("benchmark", "train");
        j.put("size", o.size().label());
        j.put("engine", CausalLm.ENGINE + " " + engineVersion());
        j.put("device", device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu");
        j.put("cpus", Runtime.getRuntime().availableProcessors());
        j.put("threads", JniUtils.getNumThreads());
        j.put("cpu", cpuModel());
        j.put("rank", o.rank());
        j.put("target_modules", LoraConfig.ALL_LINEAR);
        j.put("seq_len", o.seqLen());
        j.put("rows", o.rows());
        j.put("steps", o.steps());
        j.put("trainable_params", counts.loraParams());
        j.put("total_params", config.parameterCount() + counts.loraParams());
        j.put("tokens_per_step", tokensPerStep);
        j.put("first_step_seconds", round(firstStep, 3));
        j.put("step_seconds", round(measuredSeconds / measured, 3));
        j.put("tokens_per_second", round(tokensPerSecond, 1));
        j.put("gflop_per_step", round(flopsPerStep / 1e9, 4));
        j.put("achieved_gflops", round(gflops, 2));
        j.put("matmul_peak_gflops", round(matmulGflops, 2));
        j.put("matmul_peak_shape", MatmulPeak.SIZE + "x" + MatmulPeak.SIZE + " fp32");
        j.put("fraction_of_matmul_peak", round(gflops / matmulGflops, 3));
        j.put("rss_after_load_mb", megabytes(rssLoaded));
        j.put("peak_rss_mb", megabytes(peakRss));
        j.put("peak_rss_scope", peakReset ? "model load and training" : "whole process");
        j.put("loss_first", round(losses.get(0), 4));
        j.put("loss_last", round(losses.get(losses.size() - 1), 4));
        j.put("flops_formula", TrainingFlops.FORMULA);
        return j.toString();
    }

    /** The trainer's defaults, except: rank and alpha from the options, one step per {@code rows} examples, no warmup. */
    private static ResolvedHyperparameters hyperparameters(Options o) {
        Hyperparameters d = Hyperparameters.auto();
        List<String> targets = ModelConfig.LINEAR_MODULES;
        int rowsTokens = o.rows() * o.seqLen();
        return new ResolvedHyperparameters(1, o.rows(), 2e-4, o.rank(), 2.0 * o.rank(), d.loraDropout(), false,
                targets, 0, d.weightDecay(), d.maxGradNorm(), o.seqLen(), rowsTokens, false, 0, o.steps(), 0,
                Map.of());
    }

    private static List<EncodedExample> syntheticRows(Options o, ModelConfig config) {
        SplittableRandom rnd = new SplittableRandom(SEED);
        int bound = Math.min(config.vocabSize(), MAX_TOKEN_ID);
        List<EncodedExample> rows = new ArrayList<>();
        for (int i = 0; i < o.steps() * o.rows(); i++) {
            int[] ids = new int[o.seqLen()];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = rnd.nextInt(bound);
            }
            boolean[] targets = new boolean[ids.length];
            Arrays.fill(targets, 1, targets.length, true);
            rows.add(new EncodedExample(i + 1, ids, targets, false));
        }
        return rows;
    }

    private static Path model(Options o) throws IOException {
        Path dir = o.workDir().resolve(o.size().label() + "-qwen3");
        if (!Files.exists(dir.resolve(ModelConfig.FILE))) {
            Files.createDirectories(o.workDir());
            // BF16 on disk, as real checkpoints ship; the loader widens to fp32
            DemoModelMaker.write(dir, new DemoModelMaker.Spec(ModelFamily.QWEN3, o.size(), SEED, DType.BF16));
        }
        return dir;
    }

    private static String engineVersion() {
        return ai.djl.engine.Engine.getEngine(CausalLm.ENGINE).getVersion();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
        return "unknown";
    }

    private static long megabytes(long bytes) {
        return bytes < 0 ? -1 : Math.round(bytes / (1024.0 * 1024.0));
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    public static void main(String[] args) throws IOException {
        System.out.println(run(Options.parse(args)));
    }
}
