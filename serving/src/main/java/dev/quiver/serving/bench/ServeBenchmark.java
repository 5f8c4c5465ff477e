package dev.quiver.serving.bench;

import ai.onnxruntime.OrtException;
import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.constraint.TokenConstraint;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.ExecutionProvider;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SessionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code quiver bench serve}: throughput and latency of the serving engine on a generated model, with
 * {@code adapters} distinct rank-16 all-linear adapters mixed in every batch and, in the same process on
 * the same engine, with the base model only, so the multi-adapter overhead is a ratio. Also measures how
 * long an adapter takes from disk to a slot, the process's resident memory, and, in the same process, the two
 * ceilings the engine's speed is judged against ({@link OrtCeilings}): the weight-read bandwidth over the weight
 * bytes for batch-1 decode, and the MatMul rate for prefill. The result is one JSON line.
 */
public final class ServeBenchmark {
    /** The rank of the generated adapters (PEFT's common r=16, on every linear module). */
    public static final int ADAPTER_RANK = 16;
    /** Measured requests per phase, as a multiple of the concurrency. */
    static final int REQUESTS_PER_SLOT = 2;
    /**
     * Base and multi-adapter phases alternate this many times and their measurements are pooled, so that a
     * drift in what else the machine runs does not land on one side of the ratio.
     */
    static final int ROUNDS = 3;
    /** Times each adapter is loaded from disk to a slot for the cold-load figure. */
    static final int COLD_LOAD_ROUNDS = 3;

    private ServeBenchmark() {
    }

    /**
     * What to run.
     *
     * @param size        the generated model's size
     * @param adapters    distinct adapters mixed in each batch of the multi-adapter phase (0: base phase only)
     * @param concurrency requests in flight at once (and the engine's batch size)
     * @param promptLen   tokens per prompt
     * @param genLen      tokens generated per request
     * @param workDir     where the generated model and adapters are kept between runs
     * @param quantization how the engine stores the base weights
     * @param threads     ONNX Runtime intra-op threads
     * @param provider    where ONNX Runtime runs the graph
     */
    public record Options(DemoSize size, int adapters, int concurrency, int promptLen, int genLen, Path workDir,
                          Quantization quantization, int threads, ExecutionProvider provider) {
        public Options {
            if (adapters < 0 || concurrency < 1 || promptLen < 1 || genLen < 1 || threads < 1) {
                throw new IllegalArgumentException("adapters must be >= 0 and concurrency, prompt-len, gen-len and"
                        + " threads positive; got " + adapters + ", " + concurrency + ", " + promptLen + ", "
                        + genLen + ", " + threads);
            }
            if (size == null || workDir == null || quantization == null || provider == null) {
                throw new IllegalArgumentException("size, workDir, quantization and provider are required");
            }
        }

        /**
         * Parses {@code --size S --adapters K --concurrency C --prompt-len P --gen-len G --work-dir DIR
         * --quantize none|int8|int4 --threads N --execution-provider cpu|cuda[:N]}.
         */
        public static Options parse(String... args) {
            DemoSize size = DemoSize.SMALL;
            int adapters = 4;
            int concurrency = 8;
            int promptLen = 128;
            int genLen = 64;
            Path workDir = Path.of("quiver-bench");
            Quantization quantization = Quantization.NONE;
            int threads = Runtime.getRuntime().availableProcessors();
            ExecutionProvider provider = ExecutionProvider.CPU;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String value = args[++i];
                switch (flag) {
                    case "--size" -> size = DemoSize.parse(value);
                    case "--adapters" -> adapters = Integer.parseInt(value);
                    case "--concurrency" -> concurrency = Integer.parseInt(value);
                    case "--prompt-len" -> promptLen = Integer.parseInt(value);
                    case "--gen-len" -> genLen = Integer.parseInt(value);
                    case "--work-dir" -> workDir = Path.of(value);
                    case "--quantize" -> quantization = Quantization.parse(value);
                    case "--threads" -> threads = Integer.parseInt(value);
                    case "--execution-provider" -> provider = ExecutionProvider.parse(value);
                    default -> throw new IllegalArgumentException("unknown option " + flag + "; expected --size,"
                            + " --adapters, --concurrency, --prompt-len, --gen-len, --work-dir, --quantize,"
                            + " --threads, --execution-provider");
                }
            }
            return new Options(size, adapters, concurrency, promptLen, genLen, workDir, quantization, threads,
                    provider);
        }
    }

    /** Runs the benchmark (generating the model and adapters into the work dir if missing); one JSON line. */
    public static String run(Options o) throws IOException {
        Path modelDir = demoModel(o.workDir(), o.size());
        ModelConfig config = ModelConfig.load(modelDir);
        List<Path> adapterDirs = adapters(o, config);
        System.gc();
        boolean peakReset = ProcessMemory.resetPeak();

        int maxSequenceLength = Math.min(o.promptLen() + o.genLen() + 1, config.maxPositionEmbeddings());
        if (o.promptLen() + o.genLen() >= config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("prompt-len + gen-len must stay below the model's "
                    + config.maxPositionEmbeddings() + " positions");
        }
        EngineSettings settings = EngineSettings.builder()
                .optMaxBatch(o.concurrency())
                .optMaxSequenceLength(maxSequenceLength)
                .optLoraSlots(Math.max(1, o.adapters()))
                .optMaxLoraRank(ADAPTER_RANK)
                .optQuantization(o.quantization())
                .optThreads(o.threads())
                .optExecutionProvider(o.provider())
                // as a server does (<data-dir>/cache/graphs): a second run opens the compiled graph from disk
                .optGraphCacheDir(o.workDir().resolve("graph-cache"))
                .build();
        int vocab = Math.min(config.vocabSize(), 4096);
        long openStart = System.nanoTime();
        try (InferenceEngine engine = InferenceEngine.open(modelDir, settings)) {
            double openSeconds = (System.nanoTime() - openStart) / 1e9;
            long heapOpen = ProcessMemory.liveHeapBytes();
            long directOpen = ProcessMemory.directBytes();
            long rssOpen = ProcessMemory.residentBytes();
            ColdLoads cold = coldLoads(engine, adapterDirs);
            long heapAdapters = ProcessMemory.liveHeapBytes();
            long directAdapters = ProcessMemory.directBytes();
            long rssAdapters = ProcessMemory.residentBytes();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < adapterDirs.size(); i++) {
                names.add(adapterName(i));
            }

            // warm-up: the first runs of each shape allocate ONNX Runtime's buffers
            int warmPrompt = Math.min(o.promptLen(), 16);
            ServeWorkload.run(engine, List.of(), o.concurrency(), o.concurrency(), warmPrompt, 4, vocab);
            if (!names.isEmpty()) {
                ServeWorkload.run(engine, names, o.concurrency(), o.concurrency(), warmPrompt, 4, vocab);
            }

            TokenConstraint ticket = engine.constraints().schema(ConstraintBenchmark.realistic(), "schema");
            ServeWorkload.run(engine, List.of(), o.concurrency(), o.concurrency(), warmPrompt, 4, vocab, ticket);

            int requests = REQUESTS_PER_SLOT * o.concurrency();
            ServeWorkload.Result base = null;
            ServeWorkload.Result multi = null;
            ServeWorkload.Result constrained = null;
            long rssBase = -1;
            for (int round = 0; round < ROUNDS; round++) {
                ServeWorkload.Result b = ServeWorkload.run(engine, List.of(), requests, o.concurrency(),
                        o.promptLen(), o.genLen(), vocab);
                base = base == null ? b : base.plus(b);
                // the same batch with every row under the realistic schema, right after the base phase
                ServeWorkload.Result c = ServeWorkload.run(engine, List.of(), requests, o.concurrency(),
                        o.promptLen(), o.genLen(), vocab, ticket);
                constrained = constrained == null ? c : constrained.plus(c);
                if (round == 0) {
                    rssBase = ProcessMemory.residentBytes(); // before any adapter phase
                }
                if (!names.isEmpty()) {
                    ServeWorkload.Result m = ServeWorkload.run(engine, names, requests, o.concurrency(),
                            o.promptLen(), o.genLen(), vocab);
                    multi = multi == null ? m : multi.plus(m);
                }
            }
            long rssMulti = ProcessMemory.residentBytes();
            // before the ceilings, whose probe weight (~1 GB with ONNX Runtime's packed copy) is not the engine's
            long peakRss = ProcessMemory.peakResidentBytes();
            Ceilings ceilings = ceilings(settings, config);

            double mb = 1 << 20;
            JsonLine json = new JsonLine()
                    .put("benchmark", "serve")
                    .put("model", o.size().label())
                    .put("params_m", config.parameterCount() / 1e6, 1)
                    .put("adapters", o.adapters())
                    .put("adapter_rank", ADAPTER_RANK)
                    .put("concurrency", o.concurrency())
                    .put("prompt_len", o.promptLen())
                    .put("gen_len", o.genLen())
                    .put("threads", settings.threads())
                    .put("quantize", settings.quantization().label())
                    .put("execution_provider", settings.executionProvider().label())
                    .put("prefill_chunk", settings.prefillChunkTokens())
                    .put("prefill_budget_ms", settings.prefillBudget().toMillis())
                    .put("base", base.json())
                    .put("multi", multi == null ? null : multi.json());
            if (multi == null) {
                json.put("multi_over_base_output_tok_s", Double.NaN, 3)
                        .put("multi_over_base_decode_tok_s", Double.NaN, 3);
            } else {
                json.put("multi_over_base_output_tok_s",
                                multi.outputTokensPerSecond() / base.outputTokensPerSecond(), 3)
                        .put("multi_over_base_decode_tok_s",
                                multi.decodeTokensPerSecond() / base.decodeTokensPerSecond(), 3);
            }
            double bound = ceilings.bandwidthGbS() * 1e9 / engine.weightBytes();
            double prefillGflops = base.prefillTokensPerSecond() * PrefillFlops.perToken(config, o.promptLen()) / 1e9;
            json.put("weight_bytes", engine.weightBytes())
                    .put("bandwidth_gb_s", ceilings.bandwidthGbS(), 2)
                    .put("decode_bound_tok_s", bound, 2)
                    .put("decode_over_bound", base.decodeStepsPerSecond() / bound, 3)
                    .put("matmul_peak_gflops", ceilings.matmulGflops(), 1)
                    .put("matmul_peak_shape", OrtCeilings.PEAK_M + "x" + config.hiddenSize() + "x"
                            + config.intermediateSize() + " fp32")
                    .put("prefill_gflops", prefillGflops, 1)
                    .put("prefill_over_matmul_peak", prefillGflops / ceilings.matmulGflops(), 3);
            double baseItl = LatencyStats.ofNanos(base.itlNanos()).percentile(50);
            double constrainedItl = LatencyStats.ofNanos(constrained.itlNanos()).percentile(50);
            json.put("constrained", constrained.json())
                    .put("constrained_over_base_output_tok_s",
                            constrained.outputTokensPerSecond() / base.outputTokensPerSecond(), 3)
                    .put("constrained_over_base_step_rate", baseItl / constrainedItl, 3)
                    .put("schema_compile_ms_p50", ConstraintBenchmark.compileMillisP50(ConstraintBenchmark.realistic(),
                            engine.constraints().vocabulary()), 2)
                    .put("large_schema_compile_ms_p50", ConstraintBenchmark.compileMillisP50(
                            ConstraintBenchmark.large(), engine.constraints().vocabulary()), 2)
                    .put("schema_dfa_states", ticket.states())
                    .put("schema_mask_kb", ticket.memoryBytes() / 1024.0, 1);
            return json
                    .put("adapter_cold_load_ms_p50", cold.total().percentile(50), 2)
                    .put("adapter_read_ms_p50", cold.read().percentile(50), 2)
                    .put("adapter_slot_copy_ms_p50", cold.copy().percentile(50), 2)
                    .put("adapter_mb", RandomAdapters.bytes(config, ADAPTER_RANK) / mb, 2)
                    .put("lora_pools_mb", engine.loraPoolBytes() / mb, 2)
                    .put("rss_mb_open", rssOpen / mb, 1)
                    .put("rss_mb_adapters_loaded", rssAdapters / mb, 1)
                    .put("heap_mb_growth_adapters_loaded", (heapAdapters - heapOpen) / mb, 1)
                    .put("direct_mb_growth_adapters_loaded", (directAdapters - directOpen) / mb, 1)
                    .put("rss_mb_after_base", rssBase / mb, 1)
                    .put("rss_mb_after_multi", rssMulti / mb, 1)
                    .put("peak_rss_mb", peakRss / mb, 1)
                    .put("peak_rss_excludes_generation", peakReset ? "yes" : "no")
                    .put("engine_open_s", openSeconds, 2)
                    .toString();
        }
    }

    /** What this machine allows: the rate a batch-1 MatMul streams weights, and the MatMul rate at M = 256. */
    private record Ceilings(double bandwidthGbS, double matmulGflops) {
    }

    // measured after the phases, in this process, with the engine's threads and execution provider; the peak's
    // MatMul is [256, hidden] x [hidden, intermediate], the shape of the MLP's gate and up projections
    private static Ceilings ceilings(EngineSettings settings, ModelConfig config) throws IOException {
        SessionSettings run = new SessionSettings(settings.threads(), settings.executionProvider(), null);
        try {
            return new Ceilings(OrtCeilings.weightReadGbPerSecond(run),
                    OrtCeilings.matmulGflops(run, config.hiddenSize(), config.intermediateSize()));
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime could not run the ceilings' MatMul graph: " + e.getMessage(), e);
        }
    }

    /** Disk-to-slot times: read and validate into host memory, then copy into a slot. */
    private record ColdLoads(LatencyStats read, LatencyStats copy, LatencyStats total) {
    }

    // each adapter, several times: register (read + validate on this thread), pin (copy into a slot), unpin;
    // between rounds the adapter is removed, so the next round starts from disk again. The first round only
    // warms up the JIT: a server loads adapters all its life, not only in its first second.
    private static ColdLoads coldLoads(InferenceEngine engine, List<Path> dirs) throws IOException {
        int n = dirs.size() * COLD_LOAD_ROUNDS;
        long[] read = new long[n];
        long[] copy = new long[n];
        long[] total = new long[n];
        int k = 0;
        for (int round = -1; round < COLD_LOAD_ROUNDS; round++) {
            for (int i = 0; i < dirs.size(); i++) {
                String name = adapterName(i);
                if (round > -1) {
                    engine.removeAdapter(name);
                }
                long t0 = System.nanoTime();
                engine.registerAdapter(name, dirs.get(i));
                long t1 = System.nanoTime();
                try {
                    engine.pinAdapter(name);
                } catch (dev.quiver.serving.lora.NoFreeSlotException e) {
                    throw new IllegalStateException("the benchmark sizes one slot per adapter: " + e.getMessage(), e);
                }
                long t2 = System.nanoTime();
                engine.unpinAdapter(name);
                if (round > -1) {
                    read[k] = t1 - t0;
                    copy[k] = t2 - t1;
                    total[k] = t2 - t0;
                    k++;
                }
            }
        }
        return new ColdLoads(LatencyStats.ofNanos(read), LatencyStats.ofNanos(copy), LatencyStats.ofNanos(total));
    }

    private static String adapterName(int i) {
        return "bench-" + i;
    }

    /** The generated Qwen3 model of {@code size} in {@code workDir}, written there on first use (seed 1). */
    static Path demoModel(Path workDir, DemoSize size) throws IOException {
        Path dir = workDir.resolve("model-qwen3-" + size.label());
        if (!Files.exists(dir.resolve("config.json"))) {
            Files.createDirectories(workDir);
            // the real Qwen3-0.6B ships in BF16; the loader widens it to fp32 either way
            DType dtype = size == DemoSize.QWEN3_0_6B ? DType.BF16 : DType.F32;
            DemoModelMaker.write(dir, new DemoModelMaker.Spec(ModelFamily.QWEN3, size, 1, dtype));
        }
        return dir;
    }

    private static List<Path> adapters(Options o, ModelConfig config) throws IOException {
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < o.adapters(); i++) {
            Path dir = o.workDir().resolve("adapters-qwen3-" + o.size().label() + "-r" + ADAPTER_RANK)
                    .resolve("adapter-" + i);
            RandomAdapters.writeIfMissing(dir, config, ADAPTER_RANK, 7000L + i);
            dirs.add(dir);
        }
        return dirs;
    }

    /** Runs from the command line without the {@code quiver} CLI: the options of {@link Options#parse}. */
    public static void main(String[] args) throws IOException {
        System.out.println(run(Options.parse(args)));
    }
}
