package dev.quiver.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code quiver} entry point: one jar, several roles chosen by subcommand. */
@Command(name = "quiver", mixinStandardHelpOptions = true, versionProvider = QuiverCli.Version.class,
        description = "Specialised small models: one base model, many LoRA adapters, each a tool an agent can call.",
        subcommands = {ServerCommand.class, ControlPlaneCommand.class, ServeCommand.class, FinetuneCommand.class,
                TrainCommand.class, KeysCommand.class, ModelCommand.class, AdapterCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class QuiverCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code; errors are one readable line, never a stack trace. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new QuiverCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + describe(e));
            if (Boolean.getBoolean("quiver.debug")) {
                e.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cli.execute(args);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file: " + message;
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return "already exists: " + message;
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }

    /** Reads the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = QuiverCli.class.getPackage().getImplementationVersion();
            return new String[] {"quiver " + (v == null ? "dev" : v)};
        }
    }
}
