package dev.quiver.cli;

import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.finetune.bench.TrainBenchmark;
import dev.quiver.serving.bench.ServeBenchmark;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.ExecutionProvider;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver bench train|serve}: one JSON line of figures, measured side by side in one run. */
@Command(name = "bench", description = "Benchmarks that print one JSON line.", mixinStandardHelpOptions = true,
        subcommands = {BenchCommand.Train.class, BenchCommand.Serve.class})
final class BenchCommand {

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "LoRA training throughput, GFLOPS and the fraction of this machine's matmul peak.")
    static final class Train implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--size", defaultValue = "small", description = "small or qwen3-0.6b (default: ${DEFAULT-VALUE}).")
        String size;

        @Option(names = "--rank", defaultValue = "16", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
        int rank;

        @Option(names = "--seq-len", defaultValue = "512", description = "Tokens per row (default: ${DEFAULT-VALUE}).")
        int seqLen;

        @Option(names = "--steps", defaultValue = "4", description = "Measured steps (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--rows", defaultValue = "1", description = "Rows per step (default: ${DEFAULT-VALUE}).")
        int rows;

        @Option(names = "--work-dir", defaultValue = "quiver-bench",
                description = "Generated models go here (default: ${DEFAULT-VALUE}).")
        Path workDir;

        @Option(names = "--device", defaultValue = "cpu",
                description = "cpu, cuda, cuda:N or auto, with a CUDA build of the PyTorch natives for a GPU"
                        + " (default: ${DEFAULT-VALUE}).")
        String device;

        @Override
        public Integer call() throws Exception {
            spec.commandLine().getOut().println(TrainBenchmark.run(new TrainBenchmark.Options(DemoSize.parse(size),
                    rank, seqLen, steps, rows, workDir, device)));
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serving throughput and latency with K adapters mixed in each batch and with none, in"
                    + " one run; adapter cold-load time.")
    static final class Serve implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--size", defaultValue = "small", description = "small or qwen3-0.6b (default: ${DEFAULT-VALUE}).")
        String size;

        @Option(names = "--adapters", defaultValue = "4", description = "Distinct adapters K (default: ${DEFAULT-VALUE}).")
        int adapters;

        @Option(names = "--concurrency", defaultValue = "8", description = "Concurrent requests (default: ${DEFAULT-VALUE}).")
        int concurrency;

        @Option(names = "--prompt-len", defaultValue = "128", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
        int promptLen;

        @Option(names = "--gen-len", defaultValue = "64", description = "Generated tokens (default: ${DEFAULT-VALUE}).")
        int genLen;

        @Option(names = "--work-dir", defaultValue = "quiver-bench",
                description = "Generated models and adapters go here (default: ${DEFAULT-VALUE}).")
        Path workDir;

        @Option(names = "--quantize", defaultValue = "none",
                description = "Base weights: none (fp32), int8 or int4 (default: ${DEFAULT-VALUE}).")
        String quantize;

        @Option(names = "--threads", description = "ONNX Runtime intra-op threads (default: one per core).")
        Integer threads;

        @Option(names = "--execution-provider", defaultValue = "cpu",
                description = "cpu, or cuda[:DEVICE] with the GPU build (default: ${DEFAULT-VALUE}).")
        String executionProvider;

        @Override
        public Integer call() throws Exception {
            spec.commandLine().getOut().println(ServeBenchmark.run(new ServeBenchmark.Options(DemoSize.parse(size),
                    adapters, concurrency, promptLen, genLen, workDir, Quantization.parse(quantize),
                    threads == null ? Runtime.getRuntime().availableProcessors() : threads,
                    ExecutionProvider.parse(executionProvider))));
            return 0;
        }
    }
}
