package dev.quiver.finetune.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** A training or validation file that cannot be used; {@link #problems()} lists each bad line. */
public class DatasetException extends IOException {
    private static final long serialVersionUID = 1L;
    private static final int SHOWN = 10;

    /** One problem: the file, its 1-based line (0 for the file as a whole) and what to fix. */
    public record Problem(Path file, int line, String message) {
        @Override
        public String toString() {
            return file.getFileName() + (line > 0 ? ":" + line : "") + ": " + message;
        }
    }

    private final transient List<Problem> problems;

    public DatasetException(List<Problem> problems) {
        super(summary(problems));
        this.problems = List.copyOf(problems);
    }

    public DatasetException(Path file, int line, String message) {
        this(List.of(new Problem(file, line, message)));
    }

    public List<Problem> problems() {
        return problems;
    }

    private static String summary(List<Problem> problems) {
        String shown = problems.stream().limit(SHOWN).map(Problem::toString).collect(Collectors.joining("; "));
        int more = problems.size() - SHOWN;
        return (problems.size() == 1 ? "" : problems.size() + " problems: ") + shown
                + (more > 0 ? "; and " + more + " more" : "");
    }
}
