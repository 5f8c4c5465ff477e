package dev.quiver.jobs;

import java.util.Locale;

/** OpenAI's fine-tuning job statuses; the last three are terminal. */
public enum JobStatus {
    VALIDATING_FILES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    /** The wire name, e.g. {@code validating_files}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
