package dev.quiver.cli;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code quiver model ...}: make and inspect Hugging Face model directories. */
@Command(name = "model", description = "Make and inspect base models.", mixinStandardHelpOptions = true,
        subcommands = {ModelCommand.InitDemo.class, ModelCommand.Inspect.class})
final class ModelCommand {

    @Command(name = "init-demo", mixinStandardHelpOptions = true,
            description = "Generate a model directory (config, seeded random weights, BPE tokenizer, chat template).")
    static final class InitDemo implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--out", required = true, description = "Directory to create (must not exist).")
        Path out;

        @Option(names = "--arch", defaultValue = "qwen3", description = "qwen3 or llama (default: ${DEFAULT-VALUE}).")
        String arch;

        @Option(names = "--size", defaultValue = "tiny",
                description = "tiny, small or qwen3-0.6b (default: ${DEFAULT-VALUE}).")
        String size;

        @Option(names = "--seed", defaultValue = "42", description = "Weight seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--dtype", defaultValue = "bf16", description = "bf16, f16 or f32 (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Override
        public Integer call() throws Exception {
            ModelFamily family = switch (arch.toLowerCase(Locale.ROOT)) {
                case "qwen3" -> ModelFamily.QWEN3;
                case "llama" -> ModelFamily.LLAMA;
                default -> throw new IllegalArgumentException("--arch: unknown '" + arch + "', expected qwen3 or llama");
            };
            DemoSize demoSize;
            DType type;
            try {
                demoSize = DemoSize.parse(size);
                type = DType.fromTorchName(dtype);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--size/--dtype: " + e.getMessage());
            }
            long start = System.nanoTime();
            ModelConfig config = DemoModelMaker.write(out, new DemoModelMaker.Spec(family, demoSize, seed, type));
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %s %s, %,d parameters, vocab %d, %s, %.1f s%n",
                    out, family.architecture(), demoSize.label(), config.parameterCount(), config.vocabSize(),
                    type, (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Load a model directory with the real loader and print what it holds.")
    static final class Inspect implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", description = "Hugging Face model directory.")
        Path dir;

        @Override
        public Integer call() throws Exception {
            try (ModelDirectory model = ModelDirectory.open(dir)) {
                ModelConfig c = model.config();
                spec.commandLine().getOut().printf(Locale.ROOT,
                        "%s: %s, %,d parameters (%s)%n  hidden %d, layers %d, heads %d/%d kv, head_dim %d,"
                                + " intermediate %d, vocab %d, max positions %d%n  rope theta %.0f%s, tied embeddings %s,"
                                + " q/k norm %s, qkv bias %s, eos %s%n",
                        dir, c.family().architecture(), c.parameterCount(), c.torchDtype().torchName(),
                        c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(),
                        c.intermediateSize(), c.vocabSize(), c.maxPositionEmbeddings(), c.ropeTheta(),
                        c.ropeScaling() == null ? "" : " (" + c.ropeScaling().type() + " scaling x"
                                + c.ropeScaling().factor() + ")",
                        c.tieWordEmbeddings(), c.qkNorm(), c.qkvBias(), model.eosTokenIds());
            }
            return 0;
        }
    }
}
