package dev.quiver.cli;

import dev.quiver.auth.ApiKeyService;
import dev.quiver.auth.KeyView;
import dev.quiver.server.QuiverServer;
import io.micronaut.context.ApplicationContext;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code quiver keys create|list|revoke}: API keys, through a running server's admin API or on its database. */
@Command(name = "keys", description = "Manage API keys: through a running server (--server) or on its database.",
        mixinStandardHelpOptions = true, subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class,
                KeysCommand.Revoke.class})
final class KeysCommand {

    /** What the subcommands do with keys, wherever the keys are. */
    interface KeyAdmin extends AutoCloseable {
        /** Creates a key; the answer carries the clear key, the only time it exists. */
        KeyView create(String project, String name, boolean admin);

        List<KeyView> list(String project);

        KeyView revoke(String id);

        @Override
        void close();
    }

    /** Where the keys are: a running server's admin API, or the database of a data dir. */
    static final class Target {
        @Option(names = "--server", defaultValue = "${env:QUIVER_SERVER_URL}", description = "Base URL of a running"
                + " server, e.g. http://127.0.0.1:8080 (env QUIVER_SERVER_URL); without it, work on the database.")
        String server;

        // no default shown in help: it is a secret
        @Option(names = "--admin-key", defaultValue = "${env:QUIVER_ADMIN_KEY}", description = "An admin key for"
                + " --server (env QUIVER_ADMIN_KEY, which, unlike the flag, stays out of the process list);"
                + " a loopback server that does not require keys needs none.")
        String adminKey;

        @Option(names = "--data-dir", defaultValue = "${env:QUIVER_DATA_DIR:-./quiver-data}",
                description = "Data dir whose database to use without --server (default: ${DEFAULT-VALUE});"
                        + " QUIVER_DB_URL names another database, e.g. PostgreSQL.")
        Path dataDir;

        KeyAdmin open() {
            if (server != null && !server.isBlank()) {
                return new AdminKeysClient(server, adminKey);
            }
            return DatabaseKeys.open(dataDir);
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an API key; it is printed once (on stdout) and stored only as a hash.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Target target;

        @Option(names = "--project", defaultValue = "default-project",
                description = "Project the key acts in; created if new (default: ${DEFAULT-VALUE}).")
        String project;

        @Option(names = "--name", defaultValue = "cli",
                description = "A label for the key (default: ${DEFAULT-VALUE}).")
        String name;

        @Option(names = "--admin", description = "An admin key: it may use the admin API (keys of every project)"
                + " and read /prometheus.")
        boolean admin;

        @Override
        public Integer call() {
            try (KeyAdmin keys = target.open()) {
                KeyView key = keys.create(project, name, admin);
                spec.commandLine().getOut().println(key.key());
                spec.commandLine().getErr().println("created " + (key.admin() ? "admin key " : "key ") + key.id()
                        + " for project " + key.project() + "; store it now, it is not shown again");
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List API keys: id, prefix, project, admin, created, last used (to the minute), revoked.")
    static final class ListKeys implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Target target;

        @Option(names = "--project", description = "Only the keys of this project.")
        String project;

        @Override
        public Integer call() {
            try (KeyAdmin keys = target.open()) {
                List<KeyView> found = keys.list(project);
                PrintWriter out = spec.commandLine().getOut();
                out.printf("%-18s %-12s %-20s %-6s %-20s %-20s %s%n", "ID", "PREFIX", "PROJECT", "ADMIN", "CREATED",
                        "LAST USED", "REVOKED");
                for (KeyView k : found) {
                    out.printf("%-18s %-12s %-20s %-6s %-20s %-20s %s%n", k.id(), k.prefix(), k.project(),
                            k.admin() ? "yes" : "no", time(k.createdAt()), time(k.lastUsedAt()), time(k.revokedAt()));
                }
                out.flush();
            }
            return 0;
        }

        private static String time(Long seconds) {
            return seconds == null ? "-" : Instant.ofEpochSecond(seconds).toString();
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke an API key for good: every replica refuses it from the next request on.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Target target;

        @Parameters(paramLabel = "ID", description = "The key's id, as `quiver keys list` shows it (key-...).")
        String id;

        @Override
        public Integer call() {
            try (KeyAdmin keys = target.open()) {
                KeyView k = keys.revoke(id);
                spec.commandLine().getErr().println("revoked " + k.id() + " of project " + k.project());
            }
            return 0;
        }
    }

    /** The keys in the database itself, for an operator without a running server (or with one on PostgreSQL). */
    static final class DatabaseKeys implements KeyAdmin {
        private final ApplicationContext context;
        private final ApiKeyService keys;

        private DatabaseKeys(ApplicationContext context) {
            this.context = context;
            this.keys = context.getBean(ApiKeyService.class);
        }

        static DatabaseKeys open(Path dataDir) {
            try {
                return new DatabaseKeys(QuiverServer.startHeadless(dataDir));
            } catch (RuntimeException e) {
                if (heldByAnotherProcess(e)) {
                    throw new IllegalStateException("the database under " + dataDir + " is in use by a running"
                            + " server; manage keys through it instead: add --server http://HOST:PORT (and"
                            + " --admin-key, or QUIVER_ADMIN_KEY, unless it is a loopback server without required"
                            + " keys), or stop the server first");
                }
                throw new IllegalStateException("cannot open the database of " + dataDir + ": " + rootMessage(e));
            }
        }

        @Override
        public KeyView create(String project, String name, boolean admin) {
            ApiKeyService.CreatedKey created = keys.create(project, name, admin);
            return created.view().withKey(created.key());
        }

        @Override
        public List<KeyView> list(String project) {
            return keys.list(project);
        }

        @Override
        public KeyView revoke(String id) {
            return keys.revoke(id).orElseThrow(() -> new IllegalArgumentException("no API key '" + id
                    + "'; `quiver keys list` shows the ids"));
        }

        @Override
        public void close() {
            context.close();
        }

        // H2's embedded file database admits one process; 90020 is its "Database may be already in use"
        private static boolean heldByAnotherProcess(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SQLException sql && sql.getErrorCode() == 90020) {
                    return true;
                }
            }
            return false;
        }

        private static String rootMessage(Throwable e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage().lines()
                    .findFirst().orElse("");
        }
    }
}
