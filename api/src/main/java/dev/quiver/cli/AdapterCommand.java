package dev.quiver.cli;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code quiver adapter ...}: check PEFT adapters against a base model. */
@Command(name = "adapter", description = "Work with PEFT LoRA adapters.", mixinStandardHelpOptions = true,
        subcommands = {AdapterCommand.Validate.class})
final class AdapterCommand {

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = "Check that a PEFT adapter directory loads and fits the base model.")
    static final class Validate implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--base-model", required = true, description = "Base model directory.")
        Path baseModel;

        @Option(names = "--max-rank", defaultValue = "" + PeftAdapter.MAX_RANK,
                description = "Largest rank accepted (default: ${DEFAULT-VALUE}).")
        int maxRank;

        @Parameters(index = "0", description = "Adapter directory (adapter_config.json + adapter_model.safetensors).")
        Path adapterDir;

        @Override
        public Integer call() throws Exception {
            ModelConfig base = ModelConfig.load(baseModel);
            PeftAdapter adapter = PeftAdapter.read(adapterDir);
            adapter.validateAgainst(base, maxRank);
            spec.commandLine().getOut().printf(Locale.ROOT, "ok: %s fits %s: %d modules, max rank %d%n",
                    adapterDir, base.family().architecture(), adapter.weights().size(), adapter.maxRank());
            return 0;
        }
    }
}
