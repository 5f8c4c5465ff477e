package dev.quiver.serving.graph;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quiver's ONNX Runtime custom-op library ({@code serving/src/main/native}, built into the jar by
 * the serving module for linux-x86_64), copied out of the jar once per JVM into a private temporary directory
 * that is removed when the JVM exits, and loaded for the JVM's life; each session's options register it with
 * ONNX Runtime from there. A JVM that was killed leaves its directory behind: the directory's name carries the
 * machine's boot, the process's PID namespace and its PID, and the next JVM of the same boot and namespace removes
 * those whose process is gone.
 */
public final class QuiverOps {
    static final String RESOURCE_DIR = "/dev/quiver/serving/native/";
    private static final String FILE = "libquiver_ops.so";
    private static final Logger LOG = LoggerFactory.getLogger(QuiverOps.class);
    private static final String PREFIX = "quiver-ops-";
    private static volatile Optional<Path> library;

    private QuiverOps() {
    }

    /**
     * The kernel a CPU session uses for one concern, {@code portable} or {@code quiver} (an op of this library):
     * the system property {@code property} names one by its lower-case name; without it, {@code quiver} when this
     * build has the library and {@code fast} holds (the CPU runs its fast kernels), else {@code portable}. Naming
     * {@code quiver} where the library is missing fails.
     */
    static <E extends Enum<E>> E choose(String property, E portable, E quiver, boolean fast) {
        String chosen = System.getProperty(property);
        if (chosen == null || chosen.isBlank()) {
            return library().isPresent() && fast ? quiver : portable;
        }
        String wanted = chosen.trim().toLowerCase(Locale.ROOT);
        if (wanted.equals(label(quiver))) {
            if (library().isEmpty()) {
                throw new IllegalStateException(property + "=" + wanted + ", but this build has no Quiver ops library"
                        + " for " + platform() + " (" + RESOURCE_DIR + "); build on linux-x86_64 with gcc, or set "
                        + property + "=" + label(portable));
            }
            return quiver;
        }
        if (wanted.equals(label(portable))) {
            return portable;
        }
        throw new IllegalArgumentException(property + " must be " + label(portable) + " or " + label(quiver)
                + "; got '" + chosen + "'");
    }

    /** A kernel choice's spelling in configuration: its name in lower case. */
    static String label(Enum<?> kernel) {
        return kernel.name().toLowerCase(Locale.ROOT);
    }

    /** The CPU flags of x86-64-v4, the instruction set of the library's AVX-512 kernels. */
    static final String[] X86_64_V4 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};

    /**
     * The CPU flags of x86-64-v3 (and the v2 below it), the instruction set of the library's AVX2 kernels, as GCC's
     * {@code __builtin_cpu_supports("x86-64-v3")} checks it ({@code abm} is LZCNT).
     */
    static final String[] X86_64_V3 = {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3", "avx", "avx2", "bmi1",
        "bmi2", "f16c", "fma", "abm", "movbe", "xsave"};

    /** Whether the kernel lists every one of {@code flags} among this CPU's flags in /proc/cpuinfo (Linux, x86). */
    static boolean cpuHas(String... flags) {
        return CpuFlags.FLAGS.containsAll(java.util.Arrays.asList(flags));
    }

    /** This CPU's flags, read from /proc/cpuinfo once; none where it cannot be read. */
    private static final class CpuFlags {
        static final java.util.Set<String> FLAGS = read();

        private static java.util.Set<String> read() {
            try {
                return Files.readString(Path.of("/proc/cpuinfo")).lines().filter(l -> l.startsWith("flags"))
                        .findFirst().map(l -> java.util.Set.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+")))
                        .orElse(java.util.Set.of());
            } catch (IOException | RuntimeException e) {
                return java.util.Set.of();
            }
        }
    }

    /** The platform's directory name, e.g. {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return (os.startsWith("linux") ? "linux" : os.replace(' ', '_'))
                + "-" + (arch.equals("amd64") ? "x86_64" : arch);
    }

    /** The library on disk, or empty when this build has none for this platform. */
    public static Optional<Path> library() {
        Optional<Path> l = library;
        if (l == null) {
            synchronized (QuiverOps.class) {
                l = library;
                if (l == null) {
                    l = extract();
                    library = l;
                }
            }
        }
        return l;
    }

    private static Optional<Path> extract() {
        try (InputStream in = QuiverOps.class.getResourceAsStream(RESOURCE_DIR + platform() + "/" + FILE)) {
            if (in == null) {
                return Optional.empty();
            }
            String namespace = pidScope();
            if (namespace != null) {
                removeLeftovers(Path.of(System.getProperty("java.io.tmpdir")), namespace);
            }
            Path dir = Files.createTempDirectory(PREFIX + (namespace == null ? "" : namespace + "-")
                    + ProcessHandle.current().pid() + "-");
            Path file = dir.resolve(FILE);
            dir.toFile().deleteOnExit();
            file.toFile().deleteOnExit(); // runs before the directory's: last registered, first deleted
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            // held loaded for the JVM's life: ONNX Runtime's Java SessionOptions unloads the libraries it
            // registered when it is closed, which the engine does right after creating its session
            try {
                System.load(file.toString());
            } catch (UnsatisfiedLinkError e) {
                // built for another C library, say: the engine still runs, with the ONNX formulation
                LOG.warn("Quiver's native LoRA op could not be loaded ({}); adapters run on standard ONNX ops",
                        e.getMessage());
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
                return Optional.empty();
            }
            return Optional.of(file);
        } catch (IOException e) {
            // a read-only or full temp dir: the engine still runs, with the ONNX formulation
            LOG.warn("Quiver's native ops could not be copied into java.io.tmpdir ({}): {}; the engine runs on"
                    + " ONNX Runtime's own ops", System.getProperty("java.io.tmpdir"), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Where this process's PID means this process: the machine's boot id and the inode of its PID namespace
     * ({@code /proc/sys/kernel/random/boot_id}, {@code /proc/self/ns/pid}), or null where they cannot be read.
     * Hosts sharing a temp directory differ in boot, containers on one host in namespace.
     */
    static String pidScope() {
        try {
            String boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim().replace("-", "");
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(); // pid:[4026531836]
            String inode = link.replaceAll("[^0-9]", "");
            return boot.matches("[0-9a-f]+") && !inode.isEmpty() ? boot + "-" + inode : null;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /**
     * Removes the library directories in {@code tmp} that JVMs of {@code scope} ({@link #pidScope}) left when they
     * were killed: those whose process no longer runs. Another scope's are left alone, as their PIDs mean other
     * processes; so is whatever is not a directory, or cannot be deleted (best effort, one at a time).
     */
    static void removeLeftovers(Path tmp, String scope) {
        java.util.regex.Pattern ours = java.util.regex.Pattern.compile(
                java.util.regex.Pattern.quote(PREFIX + scope + "-") + "(\\d{1,18})-\\d+");
        java.util.List<Path> entries;
        try (java.util.stream.Stream<Path> list = Files.list(tmp)) {
            entries = list.toList();
        } catch (IOException | RuntimeException e) {
            LOG.debug("could not list {} for left-over Quiver ops directories: {}", tmp, e.getMessage());
            return;
        }
        for (Path dir : entries) {
            java.util.regex.Matcher m = ours.matcher(dir.getFileName().toString());
            if (!m.matches() || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || ProcessHandle.of(Long.parseLong(m.group(1))).isPresent()) {
                continue;
            }
            try {
                Path file = dir.resolve(FILE);
                if (Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(file);
                }
                Files.delete(dir);
            } catch (IOException | RuntimeException e) {
                LOG.debug("left {}: {}", dir, e.getMessage());
            }
        }
    }
}
