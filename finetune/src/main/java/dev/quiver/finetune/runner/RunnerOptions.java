package dev.quiver.finetune.runner;

import dev.quiver.finetune.train.CheckpointSchedule;
import java.time.Duration;
import java.util.Optional;

/**
 * How a runner trains and how it guards against outliving its job.
 *
 * @param checkpoints         when to checkpoint (each checkpoint is uploaded, for the next attempt to resume from)
 * @param device              {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto}
 * @param controlPlaneTimeout after reports have failed for this long the control plane counts as gone: stop
 * @param heartbeatInterval   how often to say "alive" while there is no event to send
 * @param parent              the process whose end orphans the runner (the local launcher's server); empty for none
 */
public record RunnerOptions(CheckpointSchedule checkpoints, String device, Duration controlPlaneTimeout,
                            Duration heartbeatInterval, Optional<ProcessHandle> parent) {
    /** Environment variable with the pid whose end orphans the runner; the local launcher sets the server's. */
    public static final String PARENT_PID_ENV = "QUIVER_PARENT_PID";
    /** How often the parent's liveness is checked. */
    public static final Duration PARENT_POLL = Duration.ofSeconds(1);
    /** How long an orphaned runner may take to stop at a step boundary before it is halted. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(30);
}
